Attribute VB_Name = "CityOppRibbon"
' CityOpp ribbon callbacks and macros.
'
' Each button of the CityOpp ribbon tab (customUI14.xml) calls one CityOpp_* callback below,
' and each callback runs one function of the Python module cityopp_xl.adapters.book through
' RunPython, which lives in this workbook's own "xlwings" module (xlwings standalone mode:
' no add-in is needed). The CityOpp* macros without arguments do the same and are listed
' in Excel's Macros dialog (Alt+F8).
'
' Ribbon callbacks receive an IRibbonControl. It is declared As Object so that the project
' needs no reference to the Office type library, which could be reported missing on another PC.
Option Explicit

' ---- ribbon callbacks (onAction of the buttons) ----

Public Sub CityOpp_Recalculate(control As Object)
    CityOppRecalculate
End Sub

Public Sub CityOpp_Validate(control As Object)
    CityOppValidate
End Sub

Public Sub CityOpp_Analyze(control As Object)
    CityOppAnalyze
End Sub

Public Sub CityOpp_Compare(control As Object)
    CityOppCompare
End Sub

Public Sub CityOpp_Share(control As Object)
    CityOppShare
End Sub

' ---- macros (Alt+F8) ----

Public Sub CityOppRecalculate()
    RunPython "import cityopp_xl.adapters.book as cityopp; cityopp.recalculate()"
End Sub

Public Sub CityOppValidate()
    RunPython "import cityopp_xl.adapters.book as cityopp; cityopp.validate()"
End Sub

Public Sub CityOppAnalyze()
    RunPython "import cityopp_xl.adapters.book as cityopp; cityopp.analyze()"
End Sub

Public Sub CityOppCompare()
    RunPython "import cityopp_xl.adapters.book as cityopp; cityopp.compare()"
End Sub

' Reviewer copy: asks where to save the copy, then runs cityopp_xl.adapters.book.share on the
' saved file of this workbook (the copy is made from the file, so it must be saved first).
Public Sub CityOppShare()
    Dim target As Variant
    Dim force As String
    If ThisWorkbook.Path = "" Or Not ThisWorkbook.Saved Then
        MsgBox "Save this workbook first: the reviewer copy is made from the saved file, " & _
            "so changes not saved yet would not be in it. Then click Reviewer copy again.", vbExclamation, "CityOpp"
        Exit Sub
    End If
    target = Application.GetSaveAsFilename(ReviewCopyName(), "Excel workbook (*.xlsx), *.xlsx", 1, "CityOpp: save the reviewer copy as")
    If VarType(target) = vbBoolean Then Exit Sub
    force = "False"
    If FileExists(CStr(target)) Then
        If MsgBox(CStr(target) & " already exists. Replace it?", vbYesNo + vbExclamation, "CityOpp") <> vbYes Then Exit Sub
        force = "True"
    End If
    RunPython "import cityopp_xl.adapters.book as cityopp; cityopp.share(" & PythonText(CStr(target)) & ", force=" & force & ")"
End Sub

' The suggested name of the copy: this workbook's name with " review.xlsx".
Private Function ReviewCopyName() As String
    Dim name As String
    name = ThisWorkbook.Name
    If InStrRev(name, ".") > 0 Then name = Left(name, InStrRev(name, ".") - 1)
    ReviewCopyName = name & " review.xlsx"
End Function

Private Function FileExists(path As String) As Boolean
    On Error Resume Next
    FileExists = (Dir(path) <> "")
End Function

' A text as a Python string literal in single quotes (backslashes and quotes escaped).
Private Function PythonText(text As String) As String
    PythonText = "'" & Replace(Replace(text, "\", "\\"), "'", "\'") & "'"
End Function
