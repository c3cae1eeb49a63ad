using System.Net;
using System.Net.Sockets;

namespace MarketStream.LoadTests;

/// <summary>
/// Clients that connect from several loopback addresses (on Linux all of 127/8 is loopback): so that many
/// connections to one port do not run out of ephemeral ports, and so that per-address limits at an edge proxy
/// apply to each group of clients as they would to separate hosts.
/// </summary>
internal static class LoopbackSources
{
    /// <summary><paramref name="count"/> addresses from 127.0.0.<paramref name="first"/> on, carrying into the third byte past .255.</summary>
    public static IPAddress[] Addresses(int count, int first) =>
        [.. Enumerable.Range(first, Math.Max(1, count)).Select(n => new IPAddress([127, 0, (byte)(n / 256), (byte)(n % 256)]))];

    /// <summary>A TCP connection from <paramref name="local"/> to <paramref name="remote"/>, for a <see cref="SocketsHttpHandler.ConnectCallback"/>.</summary>
    public static async ValueTask<Stream> ConnectFromAsync(IPAddress local, DnsEndPoint remote, CancellationToken ct)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            socket.Bind(new IPEndPoint(local, 0));
            await socket.ConnectAsync(remote, ct).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
