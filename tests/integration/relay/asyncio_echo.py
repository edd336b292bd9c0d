# asyncio echo server with many concurrent clients. Modes: "server PORT" (serve until
# killed), "clients PORT N" (N clients against PORT), "both N" (server and clients in one
# process). Prints one line "ok N" when every client got its bytes back.
import asyncio, sys

async def handle(reader, writer):
    while True:
        data = await reader.read(65536)
        if not data:
            break
        writer.write(data)
        await writer.drain()
    writer.close()

async def client(port, i):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    payload = (b"%05d" % i) * (200 + i)
    got = b""
    for _ in range(3):
        writer.write(payload)
        await writer.drain()
        got += await reader.readexactly(len(payload))
    writer.close()
    await writer.wait_closed()
    return got == payload * 3

async def run_clients(port, n):
    res = await asyncio.wait_for(asyncio.gather(*(client(port, i) for i in range(n))), 60)
    return sum(res)

async def main():
    mode = sys.argv[1]
    if mode == "server":
        srv = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[2]), backlog=512)
        async with srv:
            await srv.serve_forever()
    elif mode == "clients":
        n = int(sys.argv[3])
        print("ok", await run_clients(int(sys.argv[2]), n))
    else:
        n = int(sys.argv[2])
        srv = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=512)
        port = srv.sockets[0].getsockname()[1]
        print("ok", await run_clients(port, n))
        srv.close()
        await srv.wait_closed()

asyncio.run(main())
