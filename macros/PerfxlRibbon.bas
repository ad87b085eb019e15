Attribute VB_Name = "PerfxlRibbon"
' Ribbon callbacks of the perfxl add-in; the tab itself is macros/customUI.xml.
'
' Every button hands over to Python (perfxl.excel), which shows every message to the clerk in
' Chinese. VBA only speaks when Python itself cannot start, and then in ASCII: the VBA project's
' code page is 1252, so Chinese typed here would reach the clerk as "????".
' Keep this file ASCII. perfxl.addin.build() puts it into the .xlam; tests/test_addin.py checks
' that every ribbon callback exists here and names a function of perfxl.excel.
Option Explicit

Sub OnCheck(control As IRibbonControl)
    On Error GoTo Failed
    EnsureWorkbook
    If RunPython("import perfxl.excel as x; x.check()") = -1 Then PythonDidNotStart
    Exit Sub
Failed:
    PythonDidNotStart Err.Description
End Sub

Sub OnScore(control As IRibbonControl)
    On Error GoTo Failed
    EnsureWorkbook
    If RunPython("import perfxl.excel as x; x.score()") = -1 Then PythonDidNotStart
    Exit Sub
Failed:
    PythonDidNotStart Err.Description
End Sub

Sub OnReport(control As IRibbonControl)
    On Error GoTo Failed
    EnsureWorkbook
    If RunPython("import perfxl.excel as x; x.report()") = -1 Then PythonDidNotStart
    Exit Sub
Failed:
    PythonDidNotStart Err.Description
End Sub

Sub OnRunAll(control As IRibbonControl)
    On Error GoTo Failed
    EnsureWorkbook
    If RunPython("import perfxl.excel as x; x.run_all()") = -1 Then PythonDidNotStart
    Exit Sub
Failed:
    PythonDidNotStart Err.Description
End Sub

Sub OnOpenOutputFolder(control As IRibbonControl)
    On Error GoTo Failed
    EnsureWorkbook
    If RunPython("import perfxl.excel as x; x.open_output_folder()") = -1 Then PythonDidNotStart
    Exit Sub
Failed:
    PythonDidNotStart Err.Description
End Sub

Sub OnNewBlank(control As IRibbonControl)
    On Error GoTo Failed
    EnsureWorkbook
    If RunPython("import perfxl.excel as x; x.new_blank()") = -1 Then PythonDidNotStart
    Exit Sub
Failed:
    PythonDidNotStart Err.Description
End Sub

Sub OnShowHelp(control As IRibbonControl)
    On Error GoTo Failed
    EnsureWorkbook
    If RunPython("import perfxl.excel as x; x.show_help()") = -1 Then PythonDidNotStart
    Exit Sub
Failed:
    PythonDidNotStart Err.Description
End Sub

Private Sub EnsureWorkbook()
    ' RunPython passes the active workbook to Python; with none open it would fail before
    ' Python starts. An empty book lets Python answer (in Chinese) what to open instead.
    If ActiveWorkbook Is Nothing Then Workbooks.Add
End Sub

Private Sub PythonDidNotStart(Optional ByVal detail As String = "")
    ' RunPython returns -1 when the Python process exits with an error. perfxl.excel catches
    ' every error of its own, so -1 means Python, xlwings or perfxl could not be started.
    Dim msg As String
    msg = "perfxl could not start Python." & vbCrLf & vbCrLf & _
           "1. Install Python 3.11 or newer (python.org), ticking 'Add python.exe to PATH'." & vbCrLf & _
           "2. In a command prompt run:  pip install perfxl" & vbCrLf & _
           "3. Then run:  perfxl addin install" & vbCrLf & _
           "4. Restart Excel." & vbCrLf & vbCrLf & _
           "Guide: docs/excel-addin.md (perfxl)."
    If Len(detail) > 0 Then msg = msg & vbCrLf & vbCrLf & "Detail: " & detail
    MsgBox msg, vbCritical, "perfxl"
End Sub
