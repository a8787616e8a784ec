"""A terminal's event stream ends at once when closed from another thread — an app quitting,
a browser tab handing the till over — not when the server next speaks."""

from __future__ import annotations

import socket
import sys
import threading
import time

from sync.client import STREAM_SILENCE, SyncClient


def silent_stream_server() -> tuple[socket.socket, threading.Event]:
    """A server on 127.0.0.1 that answers a stream with one event, then says nothing more."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    done = threading.Event()

    def answer() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n"
            )
            event = b'event: changes\ndata: {"position": 7}\n\n'
            connection.sendall(b"%x\r\n%s\r\n" % (len(event), event))
            done.wait()  # silent until the test ends

    threading.Thread(target=answer, daemon=True).start()
    return listener, done


def waiting_on_the_socket(thread: threading.Thread) -> bool:
    """Whether `thread` is inside the HTTP stack's socket read (httpcore's network backend)."""
    frame = sys._current_frames().get(thread.ident or 0)
    return (
        frame is not None
        and frame.f_code.co_name == "read"
        and "httpcore" in (frame.f_code.co_filename)
    )


def test_closing_a_stream_from_another_thread_ends_its_read_at_once():
    listener, done = silent_stream_server()
    host, port = listener.getsockname()
    client = SyncClient(f"http://{host}:{port}")
    stream = client.open_stream(None)
    heard: list[int] = []
    first = threading.Event()

    def read() -> None:
        for waiting in stream:
            heard.append(waiting.position)
            first.set()  # and back to reading, where it blocks: the server says no more

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert first.wait(timeout=STREAM_SILENCE / 3)
        deadline = time.monotonic() + STREAM_SILENCE / 3
        while not waiting_on_the_socket(reader):  # closing before it blocks proves nothing
            assert time.monotonic() < deadline, "the reader never went back to reading"
            time.sleep(0.01)
        time.sleep(0.05)  # from the Python frame into the system call: microseconds
        assert waiting_on_the_socket(reader)
        stream.close()
        # The server stays silent for good: only the close can end the read, well before
        # the stream's own silence limit would.
        reader.join(timeout=STREAM_SILENCE / 3)
        assert not reader.is_alive()
        assert heard == [7]
    finally:
        done.set()
        listener.close()
        client.close()
