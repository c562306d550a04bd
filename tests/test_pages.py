"""Every page through Streamlit's AppTest: renders, shows its widgets, and the widgets drive the config."""

import json

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest import APP, TINY, config_of, finish_active_run, open_app, open_lesson, trained
from tests.shown import shown
from tests.waiting import wait_for, wait_until_all_finished
from transfer_core.config import TrainConfig
from transfer_core.errors import RunNotFound

pytestmark = pytest.mark.usefixtures("fresh_runner")  # each test opens the app with a runner of its own


def markdown_text(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown) + "\n".join(m.value for m in at.sidebar.markdown)


def test_home_explains_the_mapping_and_offers_the_default_lab():
    at = open_app()
    assert "mapping" in markdown_text(at)
    assert any(b.label == "Start the default lab" for b in at.button)
    assert "Device:" in at.sidebar.markdown[0].value
    assert config_of(at) == TrainConfig()  # the URL carries the whole setup


def test_backbone_page_lists_stages_weights_and_top5_predictions():
    at = open_app("app_pages/backbone.py")
    assert at.selectbox[0].value == "efficientnet_lite0"
    stages = at.dataframe[0].value
    assert stages["stage"].tolist()[0] == "stem" and len(stages) == 9
    predictions = at.dataframe[1].value
    assert len(predictions) == 5 and predictions["ImageNet class"].iloc[0] in {"tabby", "tiger cat", "Egyptian cat"}
    assert any("Pretrained weights available" in s.value for s in at.success)


def test_choosing_a_backbone_without_weights_explains_the_way_out():
    at = open_app("app_pages/backbone.py")
    at.selectbox[0].set_value("resnet18").run()
    assert config_of(at).backbone == "resnet18"
    assert any("torch cache" in w.value for w in at.warning)
    assert any("EfficientNet-Lite" in i.value for i in at.info)


def test_data_page_shows_samples_counts_and_changes_the_size():
    at = open_app("app_pages/data.py")
    assert at.selectbox[0].value == "fashion_mnist"
    assert any("2000 training and 1000 validation" in h.value for h in at.subheader)
    at.number_input[0].set_value(50).run()
    assert config_of(at).train_per_class == 50
    assert any("500 training" in h.value for h in at.subheader)


def test_data_page_says_why_a_dataset_is_unavailable():
    at = open_app("app_pages/data.py")
    at.selectbox[0].set_value("cifar10").run()
    assert any("CIFAR-10 is not downloaded yet" in shown(e.value) for e in at.error)
    assert any("work offline" in i.value for i in at.info)


def test_freeze_slider_changes_the_trainable_parameter_count():
    at = open_app("app_pages/transfer.py")
    slider = at.slider[0]
    assert slider.value == 9 and at.metric[0].value == "12,810"  # all frozen: only the new head trains
    slider.set_value(8).run()
    assert config_of(at).frozen_stages == 8
    assert at.metric[0].value == f"{12_810 + 412_160:,}"  # the backbone's head stage now trains too
    at.slider[0].set_value(0).run()
    assert config_of(at).frozen_stages == 0 and at.metric[1].value == "100.0%"


def test_transfer_page_offers_fusion_modes_and_never_cuda_without_a_gpu(monkeypatch):
    monkeypatch.setattr("transfer_core.runners.runner.cuda_available", lambda: False)
    at = open_app("app_pages/transfer.py")
    at.radio[0].set_value("fusion").run()
    assert config_of(at).strategy == "fusion"
    fusion = next(r for r in at.radio if r.label == "Fusion")
    fusion.set_value("gate").run()
    assert config_of(at).fusion_mode == "gate"
    device = next(r for r in at.radio if r.label == "Device")
    assert device.options == ["auto", "CPU"], "no CUDA to offer on this machine"


def test_a_link_asking_for_cuda_on_a_cpu_server_says_so_and_falls_back(monkeypatch):
    monkeypatch.setattr("transfer_core.runners.runner.cuda_available", lambda: False)
    at = open_app("app_pages/transfer.py", config=TrainConfig(device="cuda"))
    assert any("no CUDA GPU" in e.value for e in at.error)
    assert config_of(at).device == "auto"


def test_a_link_reproduces_the_setup_in_a_new_session():
    shared = TrainConfig(strategy="fusion", fusion_mode="sum", epochs=7, lr=0.01, seed=3)
    at = open_app("app_pages/transfer.py", config=shared)
    assert config_of(at) == shared
    assert at.radio[0].value == "fusion"


def test_a_links_bad_value_is_named_with_the_value_used_and_the_rest_of_the_link_applies():
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["epochs"] = "lots"
    at.query_params["lr"] = "0.01"
    at.query_params["frozen_stages"] = "99"
    at.run()
    assert not at.exception
    message = shown(at.error[0].value)
    assert "“Frozen stages” value “99” could not be used" in message and "uses all stages frozen instead" in message
    assert "The link's “Epochs” value “lots” could not be used (expected int, got 'lots'); the lab uses 5" in message
    assert config_of(at) == TrainConfig(lr=0.01)
    at.run()  # the browser's identity answer reruns the script: the message stays until the user acts
    assert shown(at.error[0].value) == message


def test_a_link_beyond_what_the_pages_offer_is_named_and_the_widgets_end_where_links_do():
    """epochs=500 is a valid run for the command line, not for a class's shared slot: a link asking for it
    is told the page's range and gets the default; the slider ends at the same place."""
    from transfer_core.config import RANGES

    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["epochs"] = "500"
    at.query_params["seed"] = "4"
    at.query_params["lock"] = "epochs,banana"
    at.query_params["hide"] = "optimiser"
    at.run()
    assert not at.exception
    message = shown(at.error[0].value)
    assert "locks or hides settings the lab does not have: banana, optimiser" in message
    assert "“Epochs” value “500” could not be used (must be between 1 and 50 on this server's pages" in message
    assert config_of(at) == TrainConfig(seed=4)
    at.switch_page("app_pages/transfer.py").run()
    epochs = next(s for s in at.slider if s.label.startswith("Epochs"))
    assert (epochs.min, epochs.max) == RANGES["epochs"].on_page == (1, 50)


def test_train_page_launches_shows_progress_and_final_metrics():
    at = open_app("app_pages/train.py", config=TINY)
    at.button[0].click().run()  # Launch
    assert at.session_state["active_run"]
    finish_active_run(at)
    assert any(m.label == "Validation accuracy" for m in at.metric)
    assert any("Done" in s.value for s in at.success)
    assert "done" in markdown_text(at)


def test_stop_cancels_the_running_run():
    slow = TINY.replace(epochs=200, train_per_class=100, val_per_class=50)
    at = open_app("app_pages/train.py", config=slow)
    at.button[0].click().run()
    from ui.session import get_runner

    run_id = at.session_state["active_run"]
    wait_for(lambda: get_runner().snapshot(run_id).progress is not None, 30, "the first batch", interval=0.1)
    at.run()
    next(b for b in at.button if b.label == "Stop").click().run()
    finish_active_run(at, timeout=30)
    assert get_runner().snapshot(run_id).status == "cancelled"
    assert any("Stopped: cancelled in epoch" in w.value for w in at.warning)


def test_a_run_that_cannot_start_shows_the_cores_advice():
    at = trained(TINY.replace(dataset="cifar10"))
    assert any("CIFAR-10 is not downloaded yet" in shown(e.value) for e in at.error)


def test_results_page_shows_confusion_matrix_per_class_accuracy_and_downloads():
    at = trained(TINY)
    at.switch_page("app_pages/results.py").run()
    assert not at.exception, at.exception
    assert [s.value for s in at.subheader][:3] == [
        "Confusion matrix", "Accuracy per class", "Validation images: prediction (confidence) and truth"
    ]  # fmt: skip
    assert len(at.get("plotly_chart")) == 2
    labels = [d.proto.label for d in at.get("download_button")]
    assert labels == ["Download weights (safetensors)", "Download metrics (CSV)", "Download config (JSON)",
                      "Download as a PyTorch script", "Download as a Jupyter notebook"]  # fmt: skip
    epochs = at.dataframe[-1].value  # in the page's words, with no all-empty shifted column
    assert list(epochs.columns)[:3] == ["epoch", "training loss", "training accuracy"] and "shift_acc" not in epochs


def test_each_session_sees_only_its_own_runs():
    alice = open_app("app_pages/train.py", config=TINY)
    alice.button[0].click().run()
    finish_active_run(alice)
    bob = open_app()  # a second tab: a new session with its own identity
    assert "No run yet in this tab." in [c.value for c in bob.caption]
    bob.switch_page("app_pages/results.py").run()
    assert any("No finished run in this tab" in i.value for i in bob.info)
    alice.switch_page("app_pages/results.py").run()
    assert any(s.value == "Confusion matrix" for s in alice.subheader)


def test_features_page_shows_every_view_for_a_finished_run():
    lite = TINY.replace(backbone="efficientnet_lite0", weights="imagenet", strategy="copy", frozen_stages=6)
    at = trained(lite)
    assert any("Weight drift" in m.value for m in at.markdown)  # the live drift panel on Train
    at.switch_page("app_pages/features.py").run()
    assert not at.exception, at.exception
    assert [t.label for t in at.tabs] == [
        "Embedding map", "Activations", "Grad-CAM", "Confusion → images", "Weight drift", "Similarity (CKA)"
    ]  # fmt: skip
    assert len(at.get("plotly_chart")) == 5  # two embedding maps, confusion cells, drift, CKA
    captions = [c for image in at.tabs[2].get("image") for c in image.captions]
    assert sum(c.startswith("pretrained: ") for c in captions) == 8  # Grad-CAM of the ImageNet network
    assert sum(c.startswith("fine-tuned: ") for c in captions) == 8
    assert any("CKA compares" in c.value for c in at.caption)
    at.radio[0].set_value("tsne").run()
    assert not at.exception


def test_features_page_without_runs_says_what_to_do():
    at = open_app("app_pages/features.py")
    assert any("No finished run in this tab" in i.value for i in at.info)


def test_a_waiting_run_shows_its_place_in_the_queue():
    from ui.session import get_runner

    busy = get_runner().submit(TINY.replace(epochs=200, train_per_class=100, val_per_class=50), "another-student")
    at = open_app("app_pages/train.py", config=TINY)
    at.button[0].click().run()
    assert any("Waiting in the queue: yours starts next." in i.value for i in at.info)  # behind one training
    assert not any("place" in i.value for i in at.info)
    get_runner().cancel(busy)
    finish_active_run(at)
    assert any(m.label == "Validation accuracy" for m in at.metric)


@pytest.mark.slow
def test_compare_races_every_strategy_on_the_same_task_with_a_shifted_copy():
    from ui.session import get_runner

    base = TrainConfig(dataset="digits", train_per_class=20, val_per_class=10, image_size=32, epochs=2)
    at = open_app("app_pages/compare.py", config=base)
    shift = next(r for r in at.radio if r.label == "Shifted validation copy")
    shift.set_value("noise").run()
    at.radio(key="race_pick").set_value("linear probe").run()  # predict first
    next(b for b in at.button if b.label.startswith("Start the race")).click().run()
    race = at.session_state["race"]
    assert len(race) == 6
    wait_until_all_finished(get_runner(), race.values(), timeout=120)
    at.run()
    summary = at.dataframe[0].value
    assert summary["strategy"].tolist() == list(race)
    assert (summary["status"] == "done").all()
    for label, run_id in race.items():  # each row shows its own run's figures
        result, row = get_runner().snapshot(run_id).summary, summary.set_index("strategy").loc[label]
        assert row["val acc"] == pytest.approx(result.final_val_acc), label
        assert row["shifted acc"] == pytest.approx(result.final_shift_acc), label
        assert row["seconds"] == pytest.approx(result.seconds), label
    configs = [get_runner().snapshot(run_id).config for run_id in race.values()]
    assert {(c.dataset, c.seed, c.train_per_class, c.val_shift) for c in configs} == {("digits", 0, 20, "noise")}
    verdict = "You predicted **linear probe**. **Too close to call** over 1 seed(s)"  # one seed cannot decide
    assert any(shown(m.value).startswith(verdict) for m in at.markdown)
    assert any("fair baseline" in c.value for c in at.caption)
    assert any(c.value.startswith("About ") and "min for these 6 runs" in c.value for c in at.caption)


@pytest.mark.slow
def test_layers_page_explains_the_experiment_and_draws_a_finished_lab():
    at = open_app("app_pages/layers.py")
    assert any("Task **A**" in m.value and "18 trainings" in m.value and "54 in all" in m.value for m in at.markdown)
    assert any(c.value.startswith("Up to about ") and "for the 54 trainings" in c.value for c in at.caption)
    at.number_input[0].set_value(20).run()  # a small lab: 20 images per class, one epoch, two seeds
    at.number_input[1].set_value(1).run()
    at.number_input[3].set_value(2).run()
    at.radio(key="lab_pick").set_value("drops").run()  # predict first
    next(b for b in at.button if b.label == "Run the layer lab").click().run()
    from transfer_core.lessons.layer_lab import saved_labs
    from ui.session import get_runner

    owner = at.session_state["owner"]
    wait_for(lambda: saved_labs(get_runner(), owner)[0]["status"] != "running", 180, "the layer lab", interval=0.5)
    at.run()
    assert not at.exception, at.exception
    assert any("36 of 36 trainings done · done" in p.proto.text for p in at.get("progress"))
    assert len(at.get("plotly_chart")) == 1
    assert any("No better than guessing (0.200): baseA" in shown(i.value) for i in at.info)  # 1 epoch, 20 images
    verdict = [shown(m.value) for m in at.markdown if m.value.startswith("You predicted")]
    assert verdict and "at the deepest copy. Measured over 2 seed(s) with 4 stages copied" in verdict[0]
    assert "BnB − AnB = " in verdict[0]


def test_ledger_lists_compares_exports_and_deletes_this_tabs_runs(monkeypatch):
    from ui.session import get_runner

    monkeypatch.setenv("TRANSFER_LAB_SHARING", "1")
    at = trained(TINY)
    first = at.session_state["active_run"]
    at.query_params["seed"] = "5"
    at.session_state["config"] = TINY.replace(seed=5)
    at.run()
    at.button[0].click().run()
    finish_active_run(at)
    second = at.session_state["active_run"]
    someone_else = get_runner().submit(TINY, "another-student")

    at.switch_page("app_pages/ledger.py").run()
    assert set(at.dataframe[0].value["run"]) == {first, second}  # not another student's run
    picker = next(m for m in at.multiselect if m.label.startswith("Select runs"))
    picker.set_value([first, second]).run()
    differences = at.dataframe[1].value
    assert list(differences.index) == ["Seed"]  # the widget's name, not the config field's
    assert all(" from scratch (" in name for name in differences.columns), list(differences.columns)
    assert {name.split("(")[-1].rstrip(")") for name in differences.columns} == {first[:6], second[:6]}
    labels = [d.proto.label for d in at.get("download_button")]
    assert labels == ["Download metrics of the selection (CSV)", "Download the selection (JSON)"]

    next(m for m in at.multiselect if m.label.startswith("Select runs")).set_value([first]).run()
    assert "Download the model: weights (safetensors) + config" in [d.proto.label for d in at.get("download_button")]
    assert "load_exported" in at.code[0].value
    next(b for b in at.button if b.label == "Share with the class").click().run()
    assert get_runner().store.load(first).shared
    at.checkbox[0].check().run()
    next(b for b in at.button if b.label == "Delete").click().run()
    assert [r.run_id for r in get_runner().store.list(at.session_state["owner"])] == [second]
    with pytest.raises(RunNotFound):  # the runner no longer serves it from memory either
        get_runner().snapshot(first)
    assert [s.run_id for s in get_runner().list(at.session_state["owner"])] == [second]
    assert first not in str(at.dataframe[0].value["run"].tolist())
    get_runner().cancel(someone_else)


def test_compare_names_the_task_of_the_race_on_screen_and_races_more_seeds_when_asked():
    from ui.session import get_runner

    base = TrainConfig(dataset="digits", train_per_class=10, val_per_class=10, image_size=32, epochs=2)
    at = open_app("app_pages/compare.py", config=base)
    at.number_input(key="race_seeds").set_value(2).run()
    next(b for b in at.button if b.label.startswith("Start the race")).click().run()
    race = at.session_state["race"]
    assert len(race) == 12 and {get_runner().snapshot(r).config.seed for r in race.values()} == {0, 1}
    for run_id in race.values():
        get_runner().cancel(run_id)
    at.switch_page("app_pages/data.py").run()
    at.selectbox(key="dataset_choice").select("fashion_mnist").run()
    at.switch_page("app_pages/compare.py").run()
    assert any("Task of the race on screen" in m.value and "digits" in m.value for m in at.markdown)
    assert any("A new race would run the current setup" in c.value and "Fashion" in c.value for c in at.caption)


def test_compare_with_a_backbone_without_pretrained_weights_races_from_scratch_and_says_why():
    at = open_app("app_pages/compare.py", config=TINY)  # the Small CNN, trained from scratch
    assert any("no pretrained weights" in i.value for i in at.info)
    start = next(b for b in at.button if b.label.startswith("Start the race"))
    assert start.label == "Start the race (1 runs, one after another)"
    start.click().run()
    assert not at.exception, at.exception
    assert list(at.session_state["race"]) == ["from scratch"]


def test_the_default_lab_and_try_it_keep_what_a_teachers_link_locks():
    from ui.session import get_runner

    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in {"lock": "epochs,train_per_class", "epochs": "1", "train_per_class": "20"}.items():
        at.query_params[key] = value
    at.run()
    next(b for b in at.button if b.label == "Start the default lab").click().run()
    assert not at.exception, at.exception
    submitted = get_runner().snapshot(at.session_state["active_run"]).config
    assert (submitted.epochs, submitted.train_per_class) == (1, 20)
    assert submitted.replace(epochs=5, train_per_class=200) == TrainConfig()  # the rest is the default lab
    assert at.query_params["lock"] in (["epochs,train_per_class"], "epochs,train_per_class")
    get_runner().cancel(at.session_state["active_run"])

    open_lesson(at, "challenges").run()
    next(b for b in at.button if b.key == "try_challenges").click().run()
    assert (config_of(at).epochs, config_of(at).train_per_class, config_of(at).val_shift) == (1, 20, "contrast")
    assert at.query_params["lock"] in (["epochs,train_per_class"], "epochs,train_per_class")


def test_the_transfer_page_counts_the_new_head_for_the_tasks_own_classes():
    at = open_app("app_pages/transfer.py", config=TrainConfig(dataset="digits", class_subset="0,1,2"))
    assert at.metric[0].value == f"{1280 * 3 + 3:,}", "a linear probe trains only the head: 1280 x 3 + 3"
    assert any("3 classes" in c.value for c in at.caption)


def own_weights_run(at: AppTest) -> str:
    """Train a Small CNN run in this tab from weights the tab uploaded; its run id."""
    from transfer_core.data import user_data
    from transfer_core.models.backbones import get_spec
    from transfer_core.settings import UploadLimits

    state = {
        k: v * 0.5 if v.is_floating_point() else v for k, v in get_spec("small_cnn").build_raw().state_dict().items()
    }
    user_data.keep_weights(at.session_state["owner"], "halves", "small_cnn", state, UploadLimits())
    at.session_state["config"] = TINY.replace(strategy="copy", weights="mine:halves", frozen_stages=2)
    at.switch_page("app_pages/train.py").run()
    at.button[0].click().run()
    finish_active_run(at)
    return at.session_state["active_run"]


def test_features_page_names_the_learners_own_weights_as_the_starting_network():
    at = open_app()
    own_weights_run(at)
    at.switch_page("app_pages/features.py").run()
    assert not at.exception, at.exception
    captions = [c for image in at.tabs[2].get("image") for c in image.captions]
    assert sum(c.startswith("your weights “halves”: ") for c in captions) == 8
    assert not any(c.startswith(("initial (random)", "pretrained")) for c in captions)
    assert any("“halves”" in m.value for m in at.tabs[1].markdown)


def test_results_and_features_refuse_a_run_whose_dataset_changed_since_it_trained():
    from tests.archives import class_images, make_zip
    from transfer_core.data import user_data
    from transfer_core.data.uploads import import_zip
    from transfer_core.settings import UploadLimits

    limits = UploadLimits(min_per_class=3)
    colours = {"red": (220, 30, 30), "blue": (30, 30, 220)}
    at = open_app()
    me = at.session_state["owner"]
    user_data.keep_dataset(me, "shots", import_zip(make_zip(class_images(colours, 10)), limits).dataset, limits)
    at.session_state["config"] = TINY.replace(dataset="mine:shots", train_per_class=6, val_per_class=4)
    at.switch_page("app_pages/train.py").run()
    at.button[0].click().run()
    finish_active_run(at)
    at.switch_page("app_pages/results.py").run()
    assert any(s.value == "Confusion matrix" for s in at.subheader), "unchanged data: evaluated as usual"

    edited = colours | {"green": (30, 200, 30)}  # a class added to the webcam set after training
    user_data.keep_dataset(me, "shots", import_zip(make_zip(class_images(edited, 10)), limits).dataset, limits)
    from ui.run_picker import run_report

    run_report.clear()  # a new server process: nothing cached from before the edit
    at.run()
    assert not at.exception, at.exception
    assert any("has changed since" in e.value and "its classes" in e.value for e in at.error)
    assert not any(s.value == "Confusion matrix" for s in at.subheader)
    at.switch_page("app_pages/features.py").run()
    assert not at.exception, at.exception
    assert any("has changed since" in e.value for e in at.error)


def test_a_layer_lab_left_running_by_a_stopped_server_shows_interrupted_and_starts_again():
    import json
    import os
    import socket
    from dataclasses import asdict

    from transfer_core.lessons.layer_lab import LabSettings, saved_labs
    from ui.session import get_runner

    at = open_app()
    me, folder = at.session_state["owner"], get_runner().store.root / "labs"
    folder.mkdir()
    settings = LabSettings(train_per_class=20, epochs=1, seed=3)
    earlier_server = {"host": socket.gethostname(), "pid": os.getpid(), "process": "an-earlier-server"}
    lab = {"lab_id": "0123456789ab", "owner": me, "settings": asdict(settings), "status": "running", "created": 1.0,
           "bases": {}, "points": [], "message": "", **earlier_server}  # fmt: skip
    (folder / "0123456789ab.json").write_text(json.dumps(lab))
    at.switch_page("app_pages/layers.py").run()
    assert not at.exception, at.exception
    assert any("0 of 18 trainings done · interrupted" in p.proto.text for p in at.get("progress"))
    assert any("server stopped while this lab was running" in w.value for w in at.warning)
    next(b for b in at.button if b.label == "Start it again").click().run()
    newest = saved_labs(get_runner(), me)[0]
    assert newest["lab_id"] != "0123456789ab" and newest["status"] == "running"
    assert newest["settings"] == asdict(settings)


def test_a_link_asking_more_images_than_a_class_has_says_so_in_the_pages_words():
    at = open_app("app_pages/data.py", TrainConfig(dataset="digits"))  # 200 + 100 per class; digits has 174 to 183
    message = shown(at.error[0].value)
    assert message.startswith("Training images per class: class ") and "fewer than the 200 training + 100" in message
    assert "train_per_class" not in message


def test_a_compare_race_can_be_stopped_and_cannot_be_started_twice_meanwhile(monkeypatch):
    from tests.test_classroom import Hold
    from ui.session import get_runner

    hold = Hold()  # every run waits until released: the race is queued and training while we look
    monkeypatch.setattr(get_runner(), "train_fn", hold)
    at = open_app("app_pages/compare.py", config=TINY.replace(backbone="efficientnet_lite0", weights="imagenet"))
    next(b for b in at.button if b.label.startswith("Start the race")).click().run()
    assert next(b for b in at.button if b.label.startswith("Start the race")).disabled
    summary = at.dataframe[0]
    assert summary.value["val acc"].isna().all() and summary.proto.placeholder == "—"  # no "None" while racing
    words = [shown(c.value) for c in at.caption]
    assert any("Waiting in the queue: " in w or "Training" in w or "Preparing" in w for w in words), words
    next(b for b in at.button if b.key == "stop_race").click().run()
    race = at.session_state["race"]
    wait_for(lambda: all(get_runner().snapshot(r).finished for r in race.values()))
    assert {get_runner().snapshot(r).status for r in race.values()} == {"cancelled"}
    at.run()
    assert not next(b for b in at.button if b.label.startswith("Start the race")).disabled


def test_a_layer_lab_can_be_stopped_and_says_where_its_training_is(monkeypatch):
    from tests.test_classroom import Hold
    from transfer_core.lessons.layer_lab import saved_labs
    from ui.session import get_runner

    hold = Hold()
    monkeypatch.setattr(get_runner(), "train_fn", hold)
    blocker = get_runner().submit(TINY, "someone else")  # holds the one slot: the lab's first run waits
    at = open_app("app_pages/layers.py")
    at.number_input[0].set_value(20).run()
    at.number_input[1].set_value(1).run()
    next(b for b in at.button if b.label == "Run the layer lab").click().run()
    wait_for(lambda: saved_labs(get_runner(), at.session_state["owner"])[0]["bases"])
    at.run()
    assert next(b for b in at.button if b.label == "Run the layer lab").disabled
    assert any("Waiting in the queue: yours starts next." in shown(c.value) for c in at.caption)
    next(b for b in at.button if b.key == "stop_lab").click().run()
    wait_for(lambda: saved_labs(get_runner(), at.session_state["owner"])[0]["status"] == "stopped")
    get_runner().cancel(blocker)
    at.run()
    assert any("stopped by the user" in w.value for w in at.warning)
    assert not next(b for b in at.button if b.label == "Run the layer lab").disabled


def test_missing_imagenet_weights_are_said_before_launch_with_random_weights_offered():
    """Offline, ResNet-18's weights are not in the (empty) torch cache: before, Launch ran and failed with
    `urlopen error`; now the page says so, Launch waits, and one click starts from random weights."""
    at = open_app("app_pages/train.py", config=TINY.replace(backbone="resnet18", weights="imagenet", strategy="copy"))
    assert any("ImageNet weights for ResNet-18 are not on this machine" in shown(w.value) for w in at.warning)
    assert next(b for b in at.button if b.label == "Launch").disabled
    next(b for b in at.button if b.key == "use_random").click().run()
    assert config_of(at).weights == "random" and not at.warning
    assert not next(b for b in at.button if b.label == "Launch").disabled


def test_a_run_that_failed_before_training_does_not_keep_saying_it_is_preparing():
    at = trained(TINY.replace(dataset="mine:gone"))
    assert any("failed" in e.value for e in at.error)
    assert not [p for p in at.get("progress") if "Preparing" in p.proto.text]


def test_a_run_that_ends_at_chance_says_so_and_why():
    from transfer_core.metrics import near_chance

    assert near_chance(0.10, 10, 100) and near_chance(0.15, 10, 100) and not near_chance(0.17, 10, 100)
    assert near_chance(0.5, 2, 2) and not near_chance(1.0, 2, 2)  # two validation images: 1.0 is no guess
    guessing = TINY.replace(strategy="scratch", lr=1e-7, epochs=1)  # steps too small to move the weights
    at = trained(guessing)
    assert any("not measurably better than guessing among 10 classes (0.100)" in shown(i.value) for i in at.info)


def test_the_ledger_keeps_its_selection_while_runs_change_and_shows_accuracy():
    from tests.test_classroom import Hold
    from ui.session import get_runner

    at = trained(TINY)
    done = at.session_state["active_run"]
    at.switch_page("app_pages/ledger.py").run()
    table = at.dataframe[0].value
    assert "shared" not in table.columns  # sharing is off on this server
    assert table.set_index("run").loc[done, "val acc"] == pytest.approx(
        get_runner().snapshot(done).summary.final_val_acc
    )
    next(m for m in at.multiselect if m.label.startswith("Select runs")).set_value([done]).run()
    assert not any("identical" in c.value for c in at.caption)  # one run is compared with nothing
    hold = Hold()
    get_runner().train_fn = hold
    queued = get_runner().submit(TINY, at.session_state["owner"])  # another run appears, then changes state
    at.run()
    wait_for(lambda: get_runner().snapshot(queued).status == "running")
    at.run()
    at.run()  # a second rerun: a new status once joined the filter for one run only, then vanished
    table = at.dataframe[0]
    assert pd.isna(table.value.set_index("run").loc[queued, "val acc"])  # not measured yet
    assert table.proto.placeholder == "—"  # shown as a dash, not Streamlit's "None"
    hold.release.set()
    wait_for(lambda: get_runner().snapshot(queued).finished)
    at.run()
    assert next(m for m in at.multiselect if m.label.startswith("Select runs")).value == [done]
    assert set(next(m for m in at.multiselect if m.label.startswith("Status")).value) >= {"done", "cancelled"}


def test_photo_uploaders_state_the_upload_limit_in_force(monkeypatch):
    monkeypatch.setenv("TRANSFER_LAB_MAX_UPLOAD_MB", "7")
    at = open_app("app_pages/backbone.py")
    photo = next(u for u in at.get("file_uploader") if "photo" in u.proto.label.lower())
    assert photo.proto.max_upload_size_mb == 7  # was Streamlit's 200 MB while the lab refused over 100


def test_the_empty_layer_lab_chart_has_an_accuracy_axis():
    import pandas as pd

    from ui.figures import layer_lab_figure

    empty = layer_lab_figure(pd.DataFrame(columns=["n", "kind", "run_id", "val_acc"]), None, 4)
    assert tuple(empty.layout.yaxis.range) == (0, 1.02)  # not -1 to 4
    rows = [{"n": 1, "kind": "AnB", "seed": seed, "run_id": "", "val_acc": acc} for seed, acc in ((0, 0.6), (1, 0.8))]
    figure = layer_lab_figure(pd.DataFrame(rows), 0.7, 4)
    anb = [trace for trace in figure.data if trace.legendgroup == "AnB"]
    assert list(anb[0].y) == [pytest.approx(0.7)]  # the line: the mean over seeds
    assert sorted(anb[1].y) == [0.6, 0.8] and anb[1].showlegend is False  # and every seed's point


def test_choosing_words_brings_a_word_encoder_and_shows_words_and_back_again():
    at = open_app("app_pages/data.py")
    at.selectbox[0].set_value("words_near").run()
    config = config_of(at)
    assert (config.dataset, config.backbone, config.train_per_class) == ("words_near", "word_gru", 200)
    assert "Portuguese" in markdown_text(at) and not at.exception
    assert any("800 training and 400 validation" in h.value for h in at.subheader)
    at.switch_page("app_pages/backbone.py").run()
    at.selectbox[0].set_value("efficientnet_lite0").run()  # an image backbone brings image data back
    assert (config_of(at).backbone, config_of(at).dataset) == ("efficientnet_lite0", "fashion_mnist")


def test_a_word_run_shows_its_wrong_guesses_and_reads_a_typed_word_letter_by_letter():
    at = trained(TrainConfig(backbone="word_gru", dataset="words_near", train_per_class=60, val_per_class=30))
    at.switch_page("app_pages/results.py").run()
    wrong = at.dataframe[0].value
    assert list(wrong.columns) == ["word", "guess", "confidence", "true language"] and len(wrong) > 0
    assert (wrong["guess"] != wrong["true language"]).all()
    at.switch_page("app_pages/features.py").run()
    assert not at.exception
    at.text_input(key="typed_word").set_value("smørrebrød").run()
    assert any("After reading “smørrebrød”" in shown(m.value) for m in at.markdown)
    chart, heatmap = (json.loads(c.proto.spec) for c in at.get("plotly_chart")[:2])
    assert len(chart["data"]) == 4 and len(chart["data"][0]["x"]) == len("smørrebrød")  # 4 languages, 10 letters
    assert len(heatmap["data"][0]["x"]) == len("smørrebrød")


def test_the_class_board_draws_shared_runs_by_who_and_how_on_whole_epochs(monkeypatch):
    import json
    import re

    from ui.session import get_runner

    monkeypatch.setenv("TRANSFER_LAB_SHARING", "1")
    at = trained(TINY)
    get_runner().store.update(at.session_state["active_run"], shared=True)
    at.switch_page("app_pages/board.py").run()
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    layout = chart["layout"]
    assert (layout["xaxis"]["title"]["text"], layout["yaxis"]["title"]["text"]) == ("epoch", "validation accuracy")
    assert layout["xaxis"]["dtick"] == 1  # a run reports after whole epochs: no 0.5 ticks
    names = {trace["name"] for trace in chart["data"]}
    assert any(name.startswith("you · from scratch · ") for name in names), names
    assert not any(re.search(r"[0-9a-f]{6}", name) for name in names), "no run ids where a learner reads"


def test_a_probes_feature_pass_says_the_curve_comes_after_it_and_the_seconds_tile_counts_it(monkeypatch):
    """A newcomer watched the default lab's bar for half a minute with no curve, then read "0.4 s"."""
    import threading

    from transfer_core.model_inputs import FeatureProgress
    from transfer_core.train import Started, train
    from ui.session import get_runner

    release = threading.Event()

    def feature_pass_then_train(config, should_stop, **context):
        yield Started(["a", "b"], 10, 100, "cpu", True, {})
        yield FeatureProgress(100, 400)
        release.wait(60)
        yield from train(config, should_stop, **context)

    monkeypatch.setattr(get_runner(), "train_fn", feature_pass_then_train)
    probe = TrainConfig(dataset="digits", train_per_class=20, val_per_class=10, image_size=32, epochs=2)
    at = open_app("app_pages/train.py", config=probe)
    next(b for b in at.button if b.label == "Launch").click().run()
    wait_for(lambda: get_runner().snapshot(at.session_state["active_run"]).features is not None)
    at.run()
    assert any("The accuracy curve comes after this pass" in c.value for c in at.caption)
    release.set()
    finish_active_run(at)
    run = get_runner().snapshot(at.session_state["active_run"])
    assert run.feature_seconds > 0 and get_runner().store.load(run.run_id).feature_seconds == run.feature_seconds
    tile = next(m for m in at.metric if m.label == "Seconds, start to end")
    assert float(tile.value) == pytest.approx(run.summary.seconds + run.feature_seconds, abs=0.06)
    assert any(
        c.value.startswith("Of these, ") and "computed the frozen stages' features" in c.value for c in at.caption
    )


def test_every_chart_a_newcomer_reads_says_what_its_axes_are():
    """Data's class counts, Train's accuracy and loss, and the embedding maps were drawn without axis titles."""
    from ui.figures import class_counts_bars, embedding_scatter, learning_curves

    def titles(figure, axes=("xaxis", "yaxis")) -> list[str]:
        return [figure.layout[axis].title.text for axis in axes]

    counts = pd.DataFrame({"class": ["a", "b"], "train": [3, 4], "validation": [1, 2]})
    assert titles(class_counts_bars(counts)) == ["class", "images"]
    epochs = pd.DataFrame({"epoch": [1, 2], "train_acc": [0.5, 0.6], "val_acc": [0.4, 0.5],
                           "train_loss": [1.0, 0.8], "val_loss": [1.1, 0.9]})  # fmt: skip
    curves = learning_curves(epochs)
    assert titles(curves, ("xaxis", "yaxis", "xaxis2", "yaxis2")) == ["epoch", "accuracy", "epoch", "loss"]
    points = pd.DataFrame({"x": [0.0, 1.0], "y": [1.0, 0.0], "class": ["a", "b"], "model": ["before", "after"]})
    assert titles(embedding_scatter(points, ["a", "b"], "pca")) == ["principal component 1", "principal component 2"]
    assert titles(embedding_scatter(points, ["a", "b"], "tsne")) == ["t-SNE dimension 1", "t-SNE dimension 2"]


@pytest.mark.parametrize(
    "dataset, backbone", [("words_near", "word_gru"), ("definitions", "minilm_l6"), ("digits", "small_cnn")]
)
def test_compare_offers_image_shifts_only_for_images(dataset, backbone):
    """A newcomer was offered rotated and blurred copies of a word task."""
    at = open_app("app_pages/compare.py", config=TrainConfig(backbone=backbone, dataset=dataset, train_per_class=10,
                                                              val_per_class=10))  # fmt: skip
    offered = [r for r in at.radio if r.label == "Shifted validation copy"]
    assert bool(offered) is (dataset == "digits")


def test_compare_reports_what_research_found_about_lp_ft_without_promising_it():
    """Its text said LP-FT "tends to do well on both" while LP-FT kept the least on a rotated copy here."""
    at = open_app("app_pages/compare.py", config=TINY)
    said = " ".join(element.value for element in [*at.markdown, *at.caption, *at.info])
    assert "did well on both in their experiments; it need not in yours" in said
    assert "tends to do well on both" not in said
