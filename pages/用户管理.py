from ui.users_page import render

render()
