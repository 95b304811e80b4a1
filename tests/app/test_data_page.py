"""Data page: registry sets, Playground points, CSV upload and the validation split."""

from __future__ import annotations

from apptest_helpers import chart_spec, charts, elements, page, texts


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_default_is_digits_with_images_and_class_counts():
    at = page("data").run()
    assert not at.exception
    assert at.selectbox(key="w_dataset").value == "digits"
    # 1,797 digits, 20 % held out (stratified): 359 validation, 1,438 training.
    assert metrics(at) == {
        "Training samples": "1,438",
        "Validation samples": "359",
        "Classes": "10",
        "Input shape": "8 x 8",
    }
    assert len(elements(at, "image")) == 1  # the sample grid
    bars = [c for c in charts(at) if chart_spec(c).get("mark", {}).get("type") == "bar"]
    assert len(bars) == 1


def test_playground_points_follow_noise_size_and_split():
    at = page("data").run()
    at.selectbox(key="w_dataset").set_value("xor").run()
    assert not at.exception
    assert metrics(at)["Training samples"] == "400"
    at.number_input(key="w_num_samples").set_value(1000).run()
    at.slider(key="w_validation_split").set_value(0.5).run()
    assert metrics(at)["Training samples"] == "500"
    assert metrics(at)["Validation samples"] == "500"
    scatter = [c for c in charts(at) if chart_spec(c).get("mark", {}).get("type") == "circle"]
    assert len(scatter) == 1
    # The choice is in the share link.
    assert at.query_params["dataset"] == "xor"
    assert at.query_params["num_samples"] == "1000"


def test_good_csv_upload_shows_preview_and_counts():
    at = page("data").run()
    at.selectbox(key="w_dataset").set_value("csv").run()
    rows = "".join(f"{i},{i % 7},{'yes' if i % 2 else 'no'}\n" for i in range(40))
    at.file_uploader[0].set_value(("pets.csv", f"a,b,label\n{rows}".encode(), "text/csv")).run()
    assert not at.exception
    assert not at.error
    assert at.selectbox(key="w_csv_target").value == "label"
    assert metrics(at)["Training samples"] == "32"
    assert metrics(at)["Classes"] == "2"
    assert len(at.dataframe) == 1  # preview table


def test_bad_csv_upload_shows_error_not_traceback():
    at = page("data").run()
    at.selectbox(key="w_dataset").set_value("csv").run()
    at.file_uploader[0].set_value(("one.csv", b"a,b,y\n1,2,0\n", "text/csv")).run()
    assert not at.exception
    assert any("at least 2 are needed" in t for t in texts(at.error))
    at.file_uploader[0].set_value(("junk.csv", b"\x00\xff\xfe garbage", "text/csv")).run()
    assert not at.exception
    assert at.error


def test_single_class_target_is_explained():
    at = page("data").run()
    at.selectbox(key="w_dataset").set_value("csv").run()
    at.file_uploader[0].set_value(("c.csv", b"x,y\n1,a\n2,a\n3,a\n", "text/csv")).run()
    assert not at.exception
    assert any("single class" in t for t in texts(at.error))


def test_mnist_offline_shows_the_download_error(offline_keras):
    at = page("data").run()
    at.selectbox(key="w_dataset").set_value("mnist").run()
    assert not at.exception
    (error,) = texts(at.error)
    # Words for the person at the page, not for a Python caller:
    assert "could not reach the internet" in error and "mnist" in error
    assert "Digits works without a download" in error
    assert "cache_dir" not in error and "https" not in error


def test_fashion_mnist_offline_names_its_files_not_a_wall_of_urls(offline_keras):
    at = page("data").run()
    at.selectbox(key="w_dataset").set_value("fashion_mnist").run()
    (error,) = texts(at.error)
    assert "train-images-idx3-ubyte" in error and "://" not in error and len(error) < 600


def test_a_present_link_opens_presentation_mode_and_leaving_updates_the_link():
    at = page("data", {"present": "1"}).run()
    assert not at.exception
    assert at.session_state["tb_view"]["present"] is True
    assert at.query_params["present"] == "1"  # kept while presenting, so the link presents
    (leave,) = [b for b in at.button if b.label == "Leave presentation mode"]
    leave.click().run()
    assert not at.exception and at.session_state["tb_view"]["present"] is False
    assert "present" not in at.query_params
    assert not [b for b in at.button if b.label == "Leave presentation mode"]
    at.toggle(key="w_view_present").set_value(True).run()  # the sidebar's toggle writes it
    assert at.query_params["present"] == "1"
