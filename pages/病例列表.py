from ui.case_list_page import render

render()
