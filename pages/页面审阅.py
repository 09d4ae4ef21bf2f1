from ui.page_review_page import render

render()
