"""Length-prefixed messages over a real pipe: sizes around and far above the pipe's buffer,
empty ones, several parts joined, and a sender that dies inside a message."""

from __future__ import annotations

import os
import threading

import pytest

from tollhouse.corpus.synthetic.frames import FrameReader, send_frame


def test_messages_arrive_whole_and_in_order() -> None:
    read_fd, write_fd = os.pipe()
    messages = [b"", b"x", os.urandom(65_536), os.urandom(3_000_001), b"tail"]

    def send() -> None:
        for message in messages:
            send_frame(write_fd, message[:1], memoryview(message)[1:])
        os.close(write_fd)

    sender = threading.Thread(target=send)
    sender.start()
    frames = FrameReader(read_fd)
    try:
        for message in messages:
            assert bytes(frames.read()) == message
        with pytest.raises(EOFError):
            frames.read()
    finally:
        sender.join()
        os.close(read_fd)


def test_a_message_cut_short_is_an_error() -> None:
    read_fd, write_fd = os.pipe()
    os.write(write_fd, (10).to_bytes(8, "little") + b"12345")
    os.close(write_fd)
    try:
        with pytest.raises(EOFError):
            FrameReader(read_fd).read()
    finally:
        os.close(read_fd)
