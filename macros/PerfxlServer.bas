Attribute VB_Name = "PerfxlServer"
' The buttons over HTTP, for PCs without Python: the open workbook goes to the bureau's
' perfxl service (perfxl serve) and the cell edits come back in the service's line format
' (perfxl/server/editwire.py: "#perfxl-edits<TAB>1<TAB>count", then one TAB-separated edit
' per line, fields escaped \\ \t \n \r, values typed s: n: b: d: e:, "#msg<TAB>kind<TAB>text"
' lines carry the message). They are applied as perfxl.excel applies them with Python.
' Needs MSXML2 (part of every supported PC edition of Office's host OS, not of the Mac);
' the workbook is never saved by this module.
' Keep this file ASCII: Chinese text lives in PerfxlText.
Option Explicit

Private Const APP_KEY As String = "perfxl"
Private Const SECTION As String = "service"
Private Const CONF_SHEET As String = "perfxl.conf"
Private Const CONF_SERVER As String = "perfxl_server"
Private Const XL_EXPRESSION As Long = 2
Private Const MARK_PREFIX As String = "=""perfxl-"

' ---------------------------------------------------------------- settings

Public Function ServerAddress() As String
    ' The clerk's own setting (registry, per user) wins over the address built into the add-in.
    Dim s As String
    s = GetSetting(APP_KEY, SECTION, "address", "")
    If Len(s) = 0 Then s = ConfValue(CONF_SERVER)
    ServerAddress = s
End Function

Private Function Token() As String
    Token = GetSetting(APP_KEY, SECTION, "token", "")
End Function

Private Function ConfValue(ByVal key As String) As String
    Dim ws As Worksheet, r As Long
    On Error GoTo NoSheet
    Set ws = ThisWorkbook.Worksheets(CONF_SHEET)
    For r = 1 To 50
        If CStr(ws.Cells(r, 1).Value) = key Then
            ConfValue = Trim$(CStr(ws.Cells(r, 2).Value))
            Exit Function
        End If
    Next r
NoSheet:
    ConfValue = ""
End Function

Public Sub EditSettings()
    Dim server As String, tok As String
    server = InputBox(PerfxlText.Msg("ASKSERVER"), PerfxlText.Msg("TITLE"), ServerAddress())
    If StrPtr(server) = 0 Then Exit Sub  ' cancelled
    server = Trim$(server)
    Do While Right$(server, 1) = "/"
        server = Left$(server, Len(server) - 1)
    Loop
    If Len(server) > 0 And LCase$(Left$(server, 7)) <> "http://" And LCase$(Left$(server, 8)) <> "https://" Then
        MsgBox PerfxlText.Msg("BADSERVER"), vbExclamation, PerfxlText.Msg("TITLE")
        Exit Sub
    End If
    tok = InputBox(PerfxlText.Msg("ASKTOKEN"), PerfxlText.Msg("TITLE"), "")
    If StrPtr(tok) = 0 Then Exit Sub
    SaveSetting APP_KEY, SECTION, "address", server
    If Len(Trim$(tok)) > 0 Then SaveSetting APP_KEY, SECTION, "token", Trim$(tok)
    MsgBox PerfxlText.Msg("SAVED"), vbInformation, PerfxlText.Msg("TITLE")
End Sub

' ---------------------------------------------------------------- buttons

Public Sub RunAction(ByVal action As String)
    Dim text As String
    Application.StatusBar = PerfxlText.Msg("PROCESSING")
    On Error GoTo Failed
    Select Case action
        Case "check", "score", "run_all": text = CheckBook(action)
        Case "report": text = ReportBook()
        Case "submit": text = SubmitBook()
        Case "open_output_folder": text = OpenFolder()
        Case "new_blank": text = PerfxlText.Msg("NOBLANK")
        Case Else: text = PerfxlText.Msg("HELP")
    End Select
    Application.StatusBar = False
    If Len(text) > 0 Then MsgBox text, vbInformation, PerfxlText.Msg("TITLE")
    Exit Sub
Failed:
    Application.StatusBar = False
    If Err.Number = vbObjectError + 513 Then
        MsgBox Err.Description, vbExclamation, PerfxlText.Msg("TITLE")
    Else
        MsgBox PerfxlText.Msg("INTERNAL") & Err.Description, vbCritical, PerfxlText.Msg("TITLE")
    End If
End Sub

Private Sub Refuse(ByVal text As String)
    ' A message for the clerk, not a bug: RunAction shows it as it is.
    Err.Raise vbObjectError + 513, "perfxl", text
End Sub

Private Function CheckBook(ByVal action As String) As String
    Dim book As Workbook, bytes() As Byte, answer As String, lines() As String, text As String
    Set book = ActiveWorkbook
    If book Is Nothing Then Refuse PerfxlText.Msg("NEEDSAVE")
    bytes = CopyBytes(book)
    answer = Utf8Text(Post("/api/check?format=lines", bytes, book.Name))
    lines = Split(Replace(answer, vbCr, ""), vbLf)
    If UBound(lines) < 1 Then Refuse PerfxlText.Msg("CUT")
    If Left$(lines(0), 13) <> "#perfxl-edits" Then Refuse PerfxlText.Msg("CUT")
    text = ApplyLines(book, lines, action)
    If action = "run_all" Then text = text & vbLf & ReportBook()
    CheckBook = text & vbLf & PerfxlText.Msg("NOTSAVED")
End Function

Private Function ReportBook() As String
    Dim book As Workbook, doc() As Byte, path As String
    Set book = ActiveWorkbook
    If book Is Nothing Then Refuse PerfxlText.Msg("NEEDSAVE")
    If Len(book.Path) = 0 Then Refuse PerfxlText.Msg("NEEDSAVE")
    doc = Post("/api/report", CopyBytes(book), book.Name)
    path = book.Path & Application.PathSeparator & Stem(book.Name) & PerfxlText.Msg("REPORTNAME")
    On Error GoTo WriteFailed
    WriteBytes path, doc
    ReportBook = PerfxlText.Msg("REPORT") & path
    Exit Function
WriteFailed:
    Refuse PerfxlText.Msg("WRITEFAIL") & path
End Function

Private Function SubmitBook() As String
    Dim book As Workbook, answer As String
    Set book = ActiveWorkbook
    If book Is Nothing Then Refuse PerfxlText.Msg("NEEDSAVE")
    If Len(book.Path) = 0 Then Refuse PerfxlText.Msg("NEEDSAVE")
    If Not book.Saved Then Refuse PerfxlText.Msg("SAVEFIRST")
    If MsgBox(PerfxlText.Msg("CONFIRM"), vbOKCancel + vbQuestion, PerfxlText.Msg("TITLE")) <> vbOK Then Exit Function
    answer = Utf8Text(Post("/api/submissions", ReadBytes(book.FullName), book.Name))
    SubmitBook = PerfxlText.Msg("SUBMITTED") & JsonField(answer, "version") & PerfxlText.Msg("VERSION") & _
                 JsonField(answer, "total") & PerfxlText.Msg("GRADE") & JsonField(answer, "grade")
End Function

Private Function OpenFolder() As String
    If ActiveWorkbook Is Nothing Then Refuse PerfxlText.Msg("NEEDSAVE")
    If Len(ActiveWorkbook.Path) = 0 Then Refuse PerfxlText.Msg("NEEDSAVE")
    ThisWorkbook.FollowHyperlink ActiveWorkbook.Path  ' the file manager opens the folder
    OpenFolder = ""
End Function

Private Function Stem(ByVal name As String) As String
    Dim p As Long
    p = InStrRev(name, ".")
    If p > 1 Then Stem = Left$(name, p - 1) Else Stem = name
End Function

' ---------------------------------------------------------------- HTTP and files

Private Function CopyBytes(ByVal book As Workbook) As Byte()
    ' A copy of the open book with the clerk's unsaved changes; the book itself is untouched.
    ' The copy keeps one fixed name in the temporary folder and is overwritten next time.
    Dim tmp As String, ext As String
    ext = Mid$(book.Name, InStrRev(book.Name, "."))
    If InStrRev(book.Name, ".") = 0 Then ext = ".xlsx"
    tmp = Environ$("TEMP") & Application.PathSeparator & "perfxl-upload" & ext
    book.SaveCopyAs tmp
    CopyBytes = ReadBytes(tmp)
End Function

Private Function ReadBytes(ByVal path As String) As Byte()
    Dim f As Integer, b() As Byte
    f = FreeFile
    Open path For Binary Access Read As #f
    If LOF(f) > 0 Then
        ReDim b(0 To LOF(f) - 1)
        Get #f, , b
    End If
    Close #f
    ReadBytes = b
End Function

Private Sub WriteBytes(ByVal path As String, b() As Byte)
    Dim f As Integer
    f = FreeFile
    Open path For Output As #f  ' truncates an existing file
    Close #f
    f = FreeFile
    Open path For Binary Access Write As #f
    Put #f, , b
    Close #f
End Sub

Private Function Post(ByVal route As String, ByVal body As Variant, ByVal fileName As String) As Byte()
    ' POST the bytes as the multipart field "file"; a refusal becomes the service's own sentence.
    Dim http As Object, boundary As String, head() As Byte, tail() As Byte, payload() As Byte
    Dim status As Long, answer As String
    boundary = "----perfxl" & Format$(Now, "yyyymmddhhnnss") & CStr(Int(Rnd() * 1000000))
    head = Utf8Bytes("--" & boundary & vbCrLf & "Content-Disposition: form-data; name=""file""; filename=""" & _
                     Replace(fileName, """", "") & """" & vbCrLf & "Content-Type: application/octet-stream" & vbCrLf & vbCrLf)
    tail = Utf8Bytes(vbCrLf & "--" & boundary & "--" & vbCrLf)
    payload = Concat(Concat(head, body), tail)
    ' The one object this add-in creates: the HTTP client MSXML2.ServerXMLHTTP.
    Set http = CreateObject("MSXML2.ServerXMLHTTP.6.0")
    On Error GoTo Unreachable
    http.Open "POST", ServerAddress() & route, False
    http.setTimeouts 5000, 10000, 60000, 180000
    http.setRequestHeader "Content-Type", "multipart/form-data; boundary=" & boundary
    If Len(Token()) > 0 Then http.setRequestHeader "Authorization", "Bearer " & Token()
    http.send payload
    status = http.Status
    On Error GoTo 0
    If status >= 200 And status < 300 Then
        Post = http.responseBody
        Exit Function
    End If
    answer = JsonField(Utf8Text(http.responseBody), "error")
    If Len(answer) = 0 And (status = 401 Or status = 403) Then answer = PerfxlText.Msg("HTTP401")
    If Len(answer) = 0 Then answer = PerfxlText.Msg("HTTPERR") & CStr(status)
    Refuse answer
    Exit Function
Unreachable:
    Refuse PerfxlText.Msg("UNREACH") & ServerAddress() & PerfxlText.Msg("UNREACH2") & vbLf & "(" & Err.Description & ")"
End Function

Private Function Concat(ByVal a As Variant, ByVal b As Variant) As Byte()
    ' Byte arrays travel as Variants: VBA passes no function result to a ByRef array parameter.
    Dim out() As Byte, na As Long, nb As Long, i As Long
    na = ByteCount(a)
    nb = ByteCount(b)
    If na + nb = 0 Then
        Concat = out
        Exit Function
    End If
    ReDim out(0 To na + nb - 1)
    For i = 0 To na - 1
        out(i) = a(i)
    Next i
    For i = 0 To nb - 1
        out(na + i) = b(i)
    Next i
    Concat = out
End Function

Private Function ByteCount(ByVal b As Variant) As Long
    On Error GoTo Empty_
    ByteCount = UBound(b) - LBound(b) + 1
    Exit Function
Empty_:
    ByteCount = 0
End Function

Private Function Utf8Bytes(ByVal s As String) As Byte()
    Dim b() As Byte, n As Long, i As Long, c As Long, lo As Long
    If Len(s) = 0 Then
        Utf8Bytes = b
        Exit Function
    End If
    ReDim b(0 To Len(s) * 3 - 1)
    i = 1
    Do While i <= Len(s)
        c = AscW(Mid$(s, i, 1)) And &HFFFF&
        If c >= &HD800& And c <= &HDBFF& And i < Len(s) Then
            lo = AscW(Mid$(s, i + 1, 1)) And &HFFFF&
            c = &H10000 + (c - &HD800&) * &H400& + (lo - &HDC00&)
            b(n) = &HF0 Or (c \ &H40000): b(n + 1) = &H80 Or ((c \ &H1000&) And &H3F)
            b(n + 2) = &H80 Or ((c \ &H40&) And &H3F): b(n + 3) = &H80 Or (c And &H3F)
            n = n + 4
            i = i + 2
        Else
            If c < &H80& Then
                b(n) = c: n = n + 1
            ElseIf c < &H800& Then
                b(n) = &HC0 Or (c \ &H40&): b(n + 1) = &H80 Or (c And &H3F): n = n + 2
            Else
                b(n) = &HE0 Or (c \ &H1000&): b(n + 1) = &H80 Or ((c \ &H40&) And &H3F)
                b(n + 2) = &H80 Or (c And &H3F): n = n + 3
            End If
            i = i + 1
        End If
    Loop
    ReDim Preserve b(0 To n - 1)
    Utf8Bytes = b
End Function

Private Function Utf8Text(ByVal b As Variant) As String
    ' UTF-8 bytes (a Byte array, or a Variant holding one: responseBody) -> text, into a buffer
    ' filled with Mid$ (concatenation is quadratic in VBA).
    Dim i As Long, n As Long, c As Long, last As Long, buf As String
    last = ByteCount(b) - 1
    If last < 0 Then Exit Function
    buf = String$(last + 1, " ")
    i = LBound(b)
    Do While i <= LBound(b) + last
        c = b(i)
        If c < &H80 Then
            i = i + 1
        ElseIf c < &HE0 And i + 1 <= UBound(b) Then
            c = (c And &H1F) * &H40& + (b(i + 1) And &H3F)
            i = i + 2
        ElseIf c < &HF0 And i + 2 <= UBound(b) Then
            c = (c And &HF) * &H1000& + (b(i + 1) And &H3F) * &H40& + (b(i + 2) And &H3F)
            i = i + 3
        ElseIf i + 3 <= UBound(b) Then
            c = (c And &H7) * &H40000 + (b(i + 1) And &H3F) * &H1000& + (b(i + 2) And &H3F) * &H40& + (b(i + 3) And &H3F)
            c = c - &H10000
            n = n + 1
            Mid$(buf, n, 1) = ChrW$(&HD800& + (c \ &H400&))
            c = &HDC00& + (c And &H3FF&)
            i = i + 4
        Else
            c = &HFFFD&
            i = i + 1
        End If
        n = n + 1
        Mid$(buf, n, 1) = ChrW$(c)
    Loop
    Utf8Text = Left$(buf, n)
End Function

Private Function JsonField(ByVal json As String, ByVal key As String) As String
    ' The value of "key" in a flat JSON object (the service writes no spaces): a number as
    ' written, a string unescaped; "" when absent.
    Dim p As Long, c As String, out As String
    p = InStr(1, json, """" & key & """:")
    If p = 0 Then Exit Function
    p = p + Len(key) + 3
    Do While Mid$(json, p, 1) = " "
        p = p + 1
    Loop
    If Mid$(json, p, 1) <> """" Then
        Do While p <= Len(json) And InStr(",}] ", Mid$(json, p, 1)) = 0
            out = out & Mid$(json, p, 1)
            p = p + 1
        Loop
        If out = "null" Then out = ""
        JsonField = out
        Exit Function
    End If
    p = p + 1
    Do While p <= Len(json)
        c = Mid$(json, p, 1)
        If c = """" Then Exit Do
        If c = "\" Then
            p = p + 1
            c = Mid$(json, p, 1)
            Select Case c
                Case "n": c = vbLf
                Case "t": c = vbTab
                Case "r": c = vbCr
                Case "u"
                    c = ChrW$(CLng("&H" & Mid$(json, p + 1, 4)))
                    p = p + 4
            End Select
        End If
        out = out & c
        p = p + 1
    Loop
    JsonField = out
End Function

' ---------------------------------------------------------------- edits

Private Function Unescape(ByVal s As String) As String
    Dim i As Long, n As Long, c As String, buf As String
    If InStr(s, "\") = 0 Then
        Unescape = s
        Exit Function
    End If
    buf = String$(Len(s), " ")
    i = 1
    Do While i <= Len(s)
        c = Mid$(s, i, 1)
        If c = "\" And i < Len(s) Then
            Select Case Mid$(s, i + 1, 1)
                Case "t": c = vbTab
                Case "n": c = vbLf
                Case "r": c = vbCr
                Case Else: c = Mid$(s, i + 1, 1)
            End Select
            i = i + 2
        Else
            i = i + 1
        End If
        n = n + 1
        Mid$(buf, n, 1) = c
    Loop
    Unescape = Left$(buf, n)
End Function

Private Function Wanted(f() As String, ByVal action As String) As Boolean
    ' "check" applies the marks and the findings sheet, "score" the rest, "run_all" everything
    ' (the same split as the WPS add-in's selectEdits).
    Dim marking As Boolean
    If action = "run_all" Then
        Wanted = True
        Exit Function
    End If
    Select Case f(0)
        Case "ClearMarks", "MarkCell", "Hyperlink"
            marking = True
        Case "SetCell", "EnsureSheet", "ClearSheet", "DeleteSheet"
            marking = (Field(f, 1) = PerfxlText.Msg("FINDINGS"))
        Case Else
            marking = False
    End Select
    Wanted = (marking = (action = "check"))
End Function

Private Function ApplyLines(ByVal book As Workbook, lines() As String, ByVal action As String) As String
    ' Check the whole answer first (nothing is changed when it was cut off), then apply it with
    ' the standard workbook's sheet protection lifted, and protect those sheets again.
    Dim i As Long, expected As Long, count As Long, text As String, failure As String
    Dim updating As Boolean, lifted As Collection, ws As Worksheet
    expected = CLng(Split(lines(0), vbTab)(2))
    For i = 1 To UBound(lines)
        If Len(lines(i)) > 0 And Left$(lines(i), 1) <> "#" Then count = count + 1
    Next i
    If count <> expected Then Refuse PerfxlText.Msg("CUT")
    updating = Application.ScreenUpdating
    Application.ScreenUpdating = False
    Set lifted = New Collection
    For Each ws In book.Worksheets
        If ws.ProtectContents Then  ' protected without a password: formula cells are locked
            ws.Unprotect
            lifted.Add ws.Name
        End If
    Next ws
    failure = ApplyAll(book, lines, action, text)
    On Error Resume Next
    For i = 1 To lifted.Count
        book.Worksheets(lifted(i)).Protect Contents:=True, AllowFormattingColumns:=True, AllowFormattingRows:=True
    Next i
    Application.ScreenUpdating = updating
    On Error GoTo 0
    If Len(failure) > 0 Then Refuse PerfxlText.Msg("INTERNAL") & failure
    ApplyLines = text
End Function

Private Function ApplyAll(ByVal book As Workbook, lines() As String, ByVal action As String, ByRef text As String) As String
    ' Apply every wanted edit and collect the #msg text of this button; returns "" or the error.
    Dim i As Long, j As Long, f() As String
    On Error GoTo Failed
    For i = 1 To UBound(lines)
        If Len(lines(i)) > 0 Then
            f = Split(lines(i), vbTab)
            For j = 0 To UBound(f)
                f(j) = Unescape(f(j))
            Next j
            If f(0) = "#msg" Then
                If UBound(f) >= 2 Then
                    If action = "run_all" Or f(1) = action Then
                        If Len(text) > 0 Then text = text & vbLf
                        text = text & f(2)
                    End If
                End If
            ElseIf Left$(f(0), 1) <> "#" Then
                If Wanted(f, action) Then ApplyEdit book, f
            End If
        End If
    Next i
    ApplyAll = ""
    Exit Function
Failed:
    ApplyAll = Err.Description & " (" & lines(i) & ")"
End Function

Private Function Field(f() As String, ByVal i As Long) As String
    If i <= UBound(f) Then Field = f(i) Else Field = ""
End Function

Private Sub ApplyEdit(ByVal book As Workbook, f() As String)
    Dim ws As Worksheet, rng As Range, alerts As Boolean, t As ListObject, pos As String
    Select Case f(0)
        Case "SetCell"  ' sheet, cell, value, formula, style_from
            Set ws = book.Worksheets(f(1))
            Set rng = ws.Range(f(2))
            If Len(Field(f, 5)) > 0 Then rng.NumberFormat = ws.Range(Field(f, 5)).NumberFormat
            If Len(Field(f, 4)) > 0 Then
                rng.Formula = "=" & Replace(Replace(Field(f, 4), "_xlfn.", ""), "_xlws.", "")
            Else
                SetValue rng, Field(f, 3)
            End If
        Case "DefineName"  ' name, ref
            book.Names.Add Name:=f(1), RefersTo:="=" & f(2)
        Case "EnsureSheet"  ' sheet, hidden, position
            If Not HasSheet(book, f(1)) Then
                pos = Field(f, 3)
                If Len(pos) > 0 And Val(pos) < book.Sheets.Count Then
                    Set ws = book.Worksheets.Add(Before:=book.Sheets(CLng(pos) + 1))
                Else
                    Set ws = book.Worksheets.Add(After:=book.Sheets(book.Sheets.Count))
                End If
                ws.Name = f(1)
                If Field(f, 2) = "1" Then ws.Visible = xlSheetHidden
            End If
        Case "ClearSheet"
            book.Worksheets(f(1)).Cells.Clear
        Case "DeleteSheet"
            If HasSheet(book, f(1)) Then
                alerts = Application.DisplayAlerts
                Application.DisplayAlerts = False
                book.Worksheets(f(1)).Delete
                Application.DisplayAlerts = alerts
            End If
        Case "ResizeTable"  ' table, ref
            For Each ws In book.Worksheets
                For Each t In ws.ListObjects
                    If t.Name = f(1) Then t.Resize ws.Range(f(2))
                Next t
            Next ws
        Case "Hyperlink"  ' sheet, cell, location
            Set ws = book.Worksheets(f(1))
            Set rng = ws.Range(f(2))
            ws.Hyperlinks.Add Anchor:=rng, Address:="", SubAddress:=f(3), _
                ScreenTip:=PerfxlText.Msg("GOTO") & f(3), TextToDisplay:=IIf(Len(CStr(rng.Value)) > 0, CStr(rng.Value), f(3))
        Case "MarkCell"  ' sheet, cell, note, severity
            MarkCell book.Worksheets(f(1)).Range(f(2)), f(3), f(4)
        Case "ClearMarks"
            ClearMarks book
    End Select
End Sub

Private Function HasSheet(ByVal book As Workbook, ByVal name As String) As Boolean
    Dim ws As Object
    For Each ws In book.Sheets
        If ws.Name = name Then HasSheet = True
    Next ws
End Function

Private Sub SetValue(ByVal rng As Range, ByVal typed As String)
    Dim body As String
    body = Mid$(typed, 3)
    Select Case Left$(typed, 2)
        Case "s:": rng.Value = "'" & body  ' text stays text: never a formula, number or date
        Case "n:": rng.Value = Val(body)   ' Val reads "98.31" whatever the PC's decimal sign
        Case "b:": rng.Value = (body = "1")
        Case "d:": rng.Value = DateSerial(CLng(Left$(body, 4)), CLng(Mid$(body, 6, 2)), CLng(Mid$(body, 9, 2)))
        Case Else: rng.ClearContents
    End Select
End Sub

Private Function SeverityCode(ByVal severity As String) As String
    If severity = PerfxlText.Msg("WARN") Then
        SeverityCode = "warning"
    ElseIf severity = PerfxlText.Msg("INFO") Then
        SeverityCode = "info"
    Else
        SeverityCode = "error"
    End If
End Function

Private Function Rank(ByVal code As String) As Long
    Rank = IIf(code = "error", 3, IIf(code = "warning", 2, 1))
End Function

Private Function OurCode(ByVal fc As Object) As String
    ' "error" / "warning" / "info" for a perfxl mark's conditional format, "" for any other.
    Dim f As String, q As Long
    On Error GoTo NotOurs
    If fc.Type <> XL_EXPRESSION Then Exit Function
    f = fc.Formula1
    If Left$(f, Len(MARK_PREFIX)) <> MARK_PREFIX Then Exit Function
    q = InStr(Len(MARK_PREFIX) + 1, f, """")
    If q > 0 Then OurCode = Mid$(f, Len(MARK_PREFIX) + 1, q - Len(MARK_PREFIX) - 1)
    Exit Function
NotOurs:
    OurCode = ""
End Function

Private Sub MarkCell(ByVal rng As Range, ByVal note As String, ByVal severity As String)
    ' The fill of the worst severity (a conditional format the file writer also recognises) and
    ' the note appended to the cell's note, as perfxl.xlsxpatch and perfxl.excel do.
    Dim code As String, have As String, fc As Object, i As Long, text As String
    code = SeverityCode(severity)
    For i = rng.FormatConditions.Count To 1 Step -1
        Set fc = rng.FormatConditions(i)
        If Len(OurCode(fc)) > 0 Then
            If Rank(OurCode(fc)) >= Rank(code) Then
                have = OurCode(fc)
                Exit For
            End If
            fc.Delete
        End If
    Next i
    If Len(have) = 0 Then
        Set fc = rng.FormatConditions.Add(Type:=XL_EXPRESSION, Formula1:=MARK_PREFIX & code & """<>""""")
        fc.Interior.Color = Fill(code)
    End If
    text = "perfxl " & severity & PerfxlText.Msg("COLON") & vbLf & note
    If rng.Comment Is Nothing Then
        rng.AddComment text
    Else
        rng.Comment.Text rng.Comment.Text & vbLf & text
    End If
End Sub

Private Function Fill(ByVal code As String) As Long
    ' The colours perfxl.xlsxpatch writes into a file: light red, light orange, light yellow.
    Select Case code
        Case "error": Fill = RGB(&HFF, &HC7, &HCE)
        Case "warning": Fill = RGB(&HFF, &HD8, &HA8)
        Case Else: Fill = RGB(&HFF, &HF2, &HCC)
    End Select
End Function

Private Sub ClearMarks(ByVal book As Workbook)
    ' Only what carries perfxl's markers: the clerk's own fills and notes stay.
    Dim ws As Worksheet, i As Long, c As Comment, text As String, p As Long
    For Each ws In book.Worksheets
        For i = ws.Cells.FormatConditions.Count To 1 Step -1
            If Len(OurCode(ws.Cells.FormatConditions(i))) > 0 Then ws.Cells.FormatConditions(i).Delete
        Next i
        For i = ws.Comments.Count To 1 Step -1
            Set c = ws.Comments(i)
            text = c.Text
            p = NoteMark(text)
            If p > 0 Then
                If Len(Trim$(Replace(Left$(text, p - 1), vbLf, ""))) > 0 Then
                    c.Text Left$(text, p - 2)  ' the clerk's own note, without the line feed before ours
                Else
                    c.Delete
                End If
            End If
        Next i
    Next ws
End Sub

Private Function NoteMark(ByVal text As String) As Long
    ' Where perfxl's first "perfxl <severity>:" header starts (at the start or after a line feed).
    Dim keys As Variant, k As Variant, head As String, p As Long, best As Long
    keys = Array("ERR", "WARN", "INFO")
    For Each k In keys
        head = "perfxl " & PerfxlText.Msg(CStr(k)) & PerfxlText.Msg("COLON") & vbLf
        If Left$(text, Len(head)) = head Then
            p = 1
        Else
            p = InStr(1, text, vbLf & head)
            If p > 0 Then p = p + 1
        End If
        If p > 0 And (best = 0 Or p < best) Then best = p
    Next k
    NoteMark = best
End Function
