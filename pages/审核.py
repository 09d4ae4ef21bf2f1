from ui.review_page import render

render()
