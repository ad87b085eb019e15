Attribute VB_Name = "PerfxlLocal"
' The local-Python path: xlwings' RunPython runs perfxl.excel, which shows every message itself.
' Only this module (and xlwings' own) needs the local Python; --server-only builds leave both out.
Option Explicit

Public Sub RunLocal(ByVal fn As String)
    On Error GoTo Failed
    ' RunPython passes the active workbook to Python; with none open it would fail before
    ' Python starts. An empty book lets Python answer (in Chinese) what to open instead.
    If ActiveWorkbook Is Nothing Then Workbooks.Add
    If RunPython("import perfxl.excel as x; x." & fn & "()") = -1 Then PerfxlRibbon.PythonDidNotStart
    Exit Sub
Failed:
    PerfxlRibbon.PythonDidNotStart Err.Description
End Sub
