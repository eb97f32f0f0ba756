"""The socket `llmmon router` pre-binds (to report a busy port in one line) must serve like the
one uvicorn would bind: asyncio turns TCP_NODELAY on for the connections it accepts, or every
keep-alive client waits for a delayed ACK (~40 ms) on each response (Nagle's algorithm)."""

from __future__ import annotations

import asyncio
import socket

from llmmon.commands.router import listen


async def _accepted_nodelay(sock: socket.socket) -> int:
    accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    class Capture(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            conn = transport.get_extra_info("socket")
            accepted.set_result(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    server = await asyncio.get_running_loop().create_server(Capture, sock=sock)  # as uvicorn serves sockets=[...]
    try:
        _, writer = await asyncio.open_connection(*sock.getsockname()[:2])
        value = await asyncio.wait_for(accepted, 10)
        writer.close()
        return value
    finally:
        server.close()
        await server.wait_closed()


def test_connections_accepted_on_the_prebound_socket_have_nodelay():
    sock = listen("127.0.0.1", 0)
    assert sock.proto == socket.IPPROTO_TCP
    assert asyncio.run(_accepted_nodelay(sock)) != 0


def test_a_socket_made_without_proto_gets_no_nodelay():
    """The failure this guards against, shown with the socket the router used to make."""
    bare = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    bare.bind(("127.0.0.1", 0))
    bare.listen(8)
    assert asyncio.run(_accepted_nodelay(bare)) == 0
