Attribute VB_Name = "PerfxlRibbon"
' The ribbon callback of the perfxl add-in (the tab is macros/customUI.xml): every button calls
' OnButton, and Dispatch sends its action either to the bureau's perfxl service over HTTP
' (PerfxlServer, when a service address is set: no Python on this PC) or to the local Python
' through xlwings' RunPython (PerfxlLocal). An add-in built with --server-only has neither
' xlwings nor the real PerfxlLocal: perfxl.addin puts in a PerfxlLocal that only says so.
' Keep this file ASCII: Chinese text lives in PerfxlText as \u escapes.
' tests/test_addin.py checks the wiring: every ribbon id has an action here, every local action
' is a function of perfxl.excel.
Option Explicit

Public Sub OnButton(control As IRibbonControl)
    Dispatch control.ID
End Sub

Public Sub Dispatch(ByVal id As String)
    Dim action As String
    action = ActionOf(id)
    If action = "" Then Exit Sub
    On Error GoTo Failed
    If action = "settings" Then
        PerfxlServer.EditSettings
    ElseIf Len(PerfxlServer.ServerAddress()) > 0 Then
        PerfxlServer.RunAction action
    ElseIf action = "submit" Then
        MsgBox PerfxlText.Msg("NEEDSERVER"), vbExclamation, PerfxlText.Msg("TITLE")
    Else
        PerfxlLocal.RunLocal action
    End If
    Exit Sub
Failed:
    MsgBox PerfxlText.Msg("INTERNAL") & Err.Description, vbCritical, PerfxlText.Msg("TITLE")
End Sub

Public Function ActionOf(ByVal id As String) As String
    ' Ribbon control id -> action; the local actions are perfxl.excel's function names.
    Select Case id
        Case "perfxlCheck": ActionOf = "check"
        Case "perfxlScore": ActionOf = "score"
        Case "perfxlReport": ActionOf = "report"
        Case "perfxlRunAll": ActionOf = "run_all"
        Case "perfxlOpenOutput": ActionOf = "open_output_folder"
        Case "perfxlNewBlank": ActionOf = "new_blank"
        Case "perfxlShowHelp": ActionOf = "show_help"
        Case "perfxlSubmitNow": ActionOf = "submit"
        Case "perfxlSettings": ActionOf = "settings"
        Case Else: ActionOf = ""
    End Select
End Function

Public Sub PythonDidNotStart(Optional ByVal detail As String = "")
    ' RunPython returns -1 when the Python process exits with an error. perfxl.excel catches
    ' every error of its own, so -1 means Python, xlwings or perfxl could not be started.
    Dim text As String
    text = PerfxlText.Msg("NOPY")
    If Len(detail) > 0 Then text = text & vbLf & vbLf & PerfxlText.Msg("DETAIL") & detail
    MsgBox text, vbCritical, PerfxlText.Msg("TITLE")
End Sub
