"""Lesson: challenges (its text is in assets/i18n)."""

from ui.lesson_pages import lesson_page

lesson_page("challenges")
