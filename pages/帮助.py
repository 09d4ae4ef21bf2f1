from ui.help_page import render

render()
