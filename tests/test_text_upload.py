"""A learner's own sentences: a CSV of text,label rows, uploaded on My data or named on the command line,
under the same hostile-input rules as images."""

import csv
import io
import json

import pytest

from tests.apptest import config_of, open_app
from tests.shown import shown
from transfer_core.__main__ import main
from transfer_core.config import TrainConfig
from transfer_core.data import session_memory, user_data
from transfer_core.data.uploads import UploadRejected
from transfer_core.errors import DatasetUnavailable
from transfer_core.resolve import raw_dataset
from transfer_core.settings import UploadLimits
from transfer_core.text import minilm, upload
from transfer_core.text.upload import import_csv
from transfer_core.train import Failed, train

ANIMALS = ["A small furry pet that purrs.", "a large grey animal with a trunk", "a bird that cannot fly",
           "a striped wild horse of Africa", "an insect that makes honey", "a reptile with a hard shell"]  # fmt: skip
TOOLS = ["a hand tool for driving nails", "a tool with teeth for cutting wood", "a device for turning screws",
         "an instrument for measuring length", "a machine that digs earth", "a tool for tightening nuts"]  # fmt: skip


def csv_bytes(rows, header=("text", "label")) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    if header:
        writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


GOOD = [(text, "animal") for text in ANIMALS] + [(text, "tool") for text in TOOLS]


def test_good_rows_are_kept_as_written_and_each_bad_row_is_listed_with_its_line_and_why():
    rows = GOOD + [
        ("", "tool"),  # line 14
        ("a note with no label", ""),
        ("a hand tool for driving nails", "animal"),  # already a tool on line 8
        ("x" * 2001, "tool"),
        ("a thing", "bad/label"),
        ("a bird that cannot fly", "animal"),  # a repeat under its own label: counted once, not refused
    ]
    result = import_csv("mine.csv", csv_bytes(rows), UploadLimits())
    assert result.counts == {"animal": 6, "tool": 6} and result.unit == "sentence"
    reasons = {refusal.name: refusal.reason for refusal in result.refused}
    assert reasons == {
        "mine.csv, line 14": "the text is empty",
        "mine.csv, line 15": "the label is empty",
        "mine.csv, line 16": "the same text is labelled “tool” on line 8: keep it under one label",
        "mine.csv, line 17": "the text is longer than 2000 characters; the encoder reads only its start: shorten it",
        "mine.csv, line 18": 'label “bad/label”: use a name of at most 64 characters without / \\ : * ? " < > | '
        "or a leading dot",
    }
    assert result.summary() == "12 sentences in 2 classes accepted; 5 rows refused."
    dataset = result.dataset
    assert dataset.kind == "text" and dataset.classes == ["animal", "tool"]
    assert dataset.texts[0] == "A small furry pet that purrs."  # as written, beside the lower-cased tokens
    assert minilm.decode(torch_rows(dataset.images[:1]))[0] == "a small furry pet that purrs."


def torch_rows(array):
    import torch

    return torch.from_numpy(array)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"x" * (1024 * 1024 + 1), "larger than 1 MB"),
        ("text,label\ncafé,a\n".encode("latin-1"), "not UTF-8 text: save it as CSV UTF-8"),
        (csv_bytes(GOOD, header=None), "the first row must name the columns text and label"),
        (csv_bytes([(f"text {i}", f"label {i}") for i in range(60)]), "more than 50 labels; is the label column"),
        (b"text,label\na\x00b,c\n", "NUL bytes, so it is no text file"),
        (b'text,label\n"' + b"a" * 200_000 + b",c\n", "line 2 is not CSV (field larger than field limit"),
        (csv_bytes(GOOD[:6] + GOOD[6:8]), "two labels need 5 texts or more each; the file has animal (6), tool (2)"),
        (csv_bytes([("", "a"), ("b", "")]), "two labels need 5 texts or more each; the file has none"),
    ],
    ids=["size", "encoding", "header", "labels", "nul", "unclosed-quote", "few", "empty"],
)
def test_each_hostile_file_is_refused_with_what_to_do(content, message):
    with pytest.raises(UploadRejected, match=message.replace("(", r"\(").replace(")", r"\)")):
        import_csv("hostile.csv", content, UploadLimits(upload_mb=1))


def test_too_many_rows_are_refused_before_any_is_read_into_the_dataset(monkeypatch):
    monkeypatch.setattr(upload, "MAX_ROWS", 10)
    with pytest.raises(UploadRejected, match="more than 10 rows; keep the ones you need"):
        import_csv("long.csv", csv_bytes(GOOD), UploadLimits())


def test_own_sentences_are_kept_saved_read_back_and_trained_by_minilm():
    dataset = import_csv("mine.csv", csv_bytes(GOOD), UploadLimits()).dataset
    user_data.keep_dataset("alice", "objects", dataset, UploadLimits())
    user_data.save_dataset("alice", "objects", UploadLimits())
    session_memory.MEMORY.datasets.clear()  # a restarted server: only the saved copy is left
    assert user_data.dataset_kind("alice", "objects") == "text"
    assert user_data.dataset_classes("alice", "objects") == ["animal", "tool"]
    saved = user_data.load_dataset("alice", "objects")
    assert saved.texts == dataset.texts and (saved.images == dataset.images).all()
    config = TrainConfig(backbone="minilm_l6", dataset="mine:objects", train_per_class=4, val_per_class=2, epochs=2)
    for event in train(config, record=False, owner="alice"):
        assert not isinstance(event, Failed), event.message
    with pytest.raises(DatasetUnavailable, match="no dataset named 'objects'"):
        user_data.load_dataset("bob", "objects")


def test_the_command_line_trains_on_a_csv_and_says_which_rows_it_left_out(tmp_path, capsys, monkeypatch):
    path = tmp_path / "objects.csv"
    path.write_bytes(csv_bytes(GOOD + [("", "tool")]))
    reads = []
    monkeypatch.setattr(upload, "import_csv", lambda *args: reads.append(args) or import_csv(*args))
    args = ["train", "--dataset", f"csv:{path}", "--backbone", "minilm_l6", "--train-per-class", "4"]
    assert main([*args, "--val-per-class", "2", "--epochs", "2", "--lr", "0.01", "--json"]) == 0
    captured = capsys.readouterr()
    assert "left out  objects.csv, line 14: the text is empty" in captured.err
    assert "12 sentences in 2 classes accepted; 1 row refused." in captured.err
    assert json.loads(captured.out)["config"]["dataset"] == f"csv:{path}"
    assert len(reads) == 1, "its rows left out, its classes and its data: one read and tokenization"
    assert main(["train", "--dataset", f"csv:{tmp_path / 'none.csv'}", "--backbone", "minilm_l6"]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_a_session_cannot_read_a_server_file_through_a_csv_link(tmp_path):
    path = tmp_path / "objects.csv"
    path.write_bytes(csv_bytes(GOOD))
    with pytest.raises(DatasetUnavailable, match="only the command line may; upload the CSV on the My data page"):
        raw_dataset(f"csv:{path}", owner="alice")


def test_the_my_data_page_takes_a_csv_lists_its_bad_rows_and_trains_minilm_on_it(fresh_runner):
    at = open_app("app_pages/my_data.py")
    uploader = next(u for u in at.file_uploader if u.label == "A CSV of texts and labels")
    uploader.set_value(("objects.csv", csv_bytes(GOOD + [("a thing", "")]), "text/csv")).run()
    assert not at.exception
    assert any("12 sentences in 2 classes accepted; 1 row refused" in shown(w.value) for w in at.warning)
    assert at.text_input(key="sentences_name").value == "objects"
    next(b for b in at.button if b.key == "sentences_keep").click().run()
    next(b for b in at.button if b.key == "train_on_kept").click().run()
    assert not at.exception
    config = config_of(at)
    assert (config.dataset, config.backbone) == ("mine:objects", "minilm_l6")
    assert any(h.value == "2 classes, 10 training and 2 validation sentences" for h in at.subheader)
    listed = [line.removeprefix("- ") for m in at.markdown for line in shown(m.value).splitlines() if line[:2] == "- "]
    assert len(listed) == 10 and set(listed) <= set(ANIMALS + TOOLS), "the texts as written, not as tokenized"
    refused = open_app("app_pages/my_data.py")
    refused_uploader = next(u for u in refused.file_uploader if u.label == "A CSV of texts and labels")
    refused_uploader.set_value(("bad.csv", b"just,words\n", "text/csv")).run()
    assert any("the first row must name the columns text and label" in shown(e.value) for e in refused.error)
