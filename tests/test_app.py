from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).parents[1] / "app.py")


def test_home_page_shows_device_backbones_and_datasets():
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert "Device:" in at.sidebar.markdown[0].value
    backbones, datasets = at.dataframe
    assert "efficientnet_lite0" in backbones.value["backbone"].tolist()
    assert datasets.value.set_index("dataset").loc["digits", "available"]
