"""The lessons in the browser: the frame every lesson shares (predict, lock in, run, verdict), the lesson
pages themselves, the class board's questions, and the teacher's "prepare this lesson" box."""
