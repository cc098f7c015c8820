package io.ringraft.transport.aeron;

import java.io.UncheckedIOException;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.TreeMap;

/** Free UDP endpoints on 127.0.0.1 for tests: the kernel picks each port. */
final class LoopbackPorts
{
    private LoopbackPorts()
    {
    }

    /** @return a UDP port on 127.0.0.1 that was free a moment ago */
    static int freePort()
    {
        try (DatagramSocket socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)))
        {
            return socket.getLocalPort();
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }

    /** @return "127.0.0.1:port" for each node, with distinct free ports */
    static Map<Long, String> endpoints(final long... nodeIds)
    {
        final Map<Long, String> endpoints = new TreeMap<>();
        for (final long id : nodeIds)
        {
            String endpoint;
            do
            {
                endpoint = "127.0.0.1:" + freePort();
            }
            while (endpoints.containsValue(endpoint));
            endpoints.put(id, endpoint);
        }
        return endpoints;
    }
}
