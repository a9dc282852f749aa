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
