"""The WPS 表格 add-in (``perfxl/addins/wps``): its files, the list WPS reads, the offline zip.

WPS loads a JS add-in either *online* — a ``jsplugins.xml`` (``oem.ini`` → ``[Server]
JSPluginsServer=<url>``) whose ``<jspluginonline>`` entry names the URL of the add-in's folder, so
every PC runs what the bureau's ``perfxl serve`` hosts — or *offline* from an archive or a folder
under the user's ``jsaddons`` directory.  This module builds both forms from the one folder; the
service (``perfxl.server.routes_addins``) and ``perfxl addin wps-zip`` call it.
"""
from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path
from xml.sax.saxutils import quoteattr

from .errors import PerfxlError
from .fileio import atomic_write_bytes

NAME = "perfxl"          # the add-in's name in jsplugins.xml / publish.xml
ADDON_TYPE = "et"        # WPS 表格
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # same files → same zip bytes
_SERVED = (".xml", ".js")


def addin_dir() -> Path:
    """The add-in's folder (package data)."""
    folder = Path(__file__).resolve().parent / "addins" / "wps"
    if not (folder / "ribbon.xml").is_file():
        raise PerfxlError("找不到 WPS 加载项文件（perfxl/addins/wps/ribbon.xml），perfxl 安装不完整，请重新安装 perfxl。")
    return folder


def version() -> str:
    from . import __version__

    return __version__


def files() -> list[str]:
    """The add-in's files, as POSIX paths relative to its folder (what WPS may request)."""
    root = addin_dir()
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                  if p.is_file() and p.suffix in _SERVED)


def read(relpath: str) -> bytes | None:
    """One file of the add-in, or None when ``relpath`` is not one of them (no path tricks)."""
    if relpath not in files():
        return None
    return (addin_dir() / relpath).read_bytes()


def jsplugins_xml(addin_url: str) -> bytes:
    """The list WPS's online mode reads: one ``<jspluginonline>`` entry for WPS 表格 whose
    ``url`` is the add-in's folder on the bureau's server (ending in ``/``)."""
    url = addin_url if addin_url.endswith("/") else addin_url + "/"
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<jsplugins>\n'
            f'  <jspluginonline name={quoteattr(NAME)} type={quoteattr(ADDON_TYPE)} url={quoteattr(url)}'
            f' version={quoteattr(version())} enable="enable_dev" install="null"/>\n'
            "</jsplugins>\n").encode("utf-8")


def folder_name() -> str:
    """The folder the offline copy goes into under ``jsaddons`` (WPS's ``<name>_<version>``)."""
    return f"{NAME}_{version()}"


def publish_entry() -> str:
    """The ``publish.xml`` line that registers the offline copy in the user's ``jsaddons``."""
    return (f'<jsplugin name={quoteattr(NAME)} type={quoteattr(ADDON_TYPE)} url={quoteattr(folder_name())}'
            f' version={quoteattr(version())} enable="enable_dev" install="null"/>')


INSTALL_TEXT = """\
perfxl 绩效自评 WPS 表格加载项（离线安装包）

适用于没有连接单位内网、无法使用在线加载项的电脑。安装前请关闭所有 WPS 窗口。

1. 找到 WPS 加载项文件夹（没有就新建）：
   Windows：%APPDATA%\\kingsoft\\wps\\jsaddons
   Linux（含信创）：~/.local/share/Kingsoft/wps/jsaddons
2. 把本压缩包里的文件夹 {folder} 整个复制到该文件夹里。
3. 用记事本打开该文件夹里的 publish.xml（没有就新建），确保内容如下；
   已有其他加载项时，只把中间一行加在 <jsplugins> 与 </jsplugins> 之间：
   <?xml version="1.0" encoding="UTF-8"?>
   <jsplugins>
     {entry}
   </jsplugins>
4. 打开 WPS 表格，功能区出现“绩效自评”选项卡；第一次使用请点“设置”，
   填写单位信息化人员提供的服务地址和访问令牌。

加载项的按钮需要连接单位的绩效自评服务（perfxl serve）才能工作。
"""


def zip_bytes() -> bytes:
    """The offline package: ``perfxl_<version>/…`` (the add-in) and ``安装说明.txt``."""
    root = addin_dir()
    folder = folder_name()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        def put(name: str, data: bytes) -> None:
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, data)

        for rel in files():
            put(f"{folder}/{rel}", (root / rel).read_bytes())
        text = INSTALL_TEXT.format(folder=folder, entry=publish_entry())
        put("安装说明.txt", text.replace("\n", "\r\n").encode("utf-8-sig"))
    return out.getvalue()


def write_zip(out: str | os.PathLike) -> Path:
    """``perfxl addin wps-zip``: write the offline package to ``out`` (atomically)."""
    return atomic_write_bytes(Path(out), zip_bytes())
