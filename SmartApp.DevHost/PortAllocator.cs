using System.Net;
using System.Net.Sockets;

namespace SmartApp.DevHost;

public static class PortAllocator
{
    /// <summary>Ports this process has handed out or been told to use: a port chosen now is bound later, so none is handed out twice.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<int, byte> Taken = new();

    /// <summary>
    /// A port on 127.0.0.1 that is free now (the OS picks it) and not handed out before by this process: the host's own
    /// ports are chosen before the emulators start, and an emulator must not be given one of them before the host binds it.
    /// </summary>
    public static int FreePort()
    {
        for (var attempt = 1; ; attempt++)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            if (Taken.TryAdd(port, 0) || attempt == 100) return port;
        }
    }

    /// <summary>Keeps a port given from outside (<c>--port</c>) from being handed out to anything else here.</summary>
    public static int Reserve(int port)
    {
        Taken.TryAdd(port, 0);
        return port;
    }

    public static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public static async Task<bool> IsListeningAsync(int port, CancellationToken cancellationToken)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
