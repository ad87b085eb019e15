"""perfxl — 部门整体支出绩效自评: standard workbook → validation → scoring → Word report."""

__version__ = "0.1.0"
