from ui.export_page import render

render()
