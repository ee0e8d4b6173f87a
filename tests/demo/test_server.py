"""The served app answers through gradio_client."""

from gradio_client import Client, handle_file

from vidllm.demo.app import message_text


def test_server_answers_through_gradio_client(server, example_video, bad_upload):
    client = Client(server, verbose=False)
    _, video, history = client.predict(handle_file(str(bad_upload)), [], api_name="/upload")
    assert video is None and "not a video" in message_text(history[-1]["content"])

    _, video, history = client.predict(handle_file(str(example_video)), [], api_name="/upload")
    assert video is not None and "Loaded" in message_text(history[-1]["content"])
    history, timeline, gallery, question = client.predict(
        handle_file(video), "When is the red square visible?", history, 2.0, 8, api_name="/ask"
    )
    assert "2.0 to 6.5 seconds" in message_text(history[-1]["content"])
    assert 'data-t="2.000"' in timeline and len(gallery) == 2 and question == ""


def test_server_binds_localhost_only(server):
    assert server.startswith("http://127.0.0.1:")
