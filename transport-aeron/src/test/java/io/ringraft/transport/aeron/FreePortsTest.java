package io.ringraft.transport.aeron;

import org.junit.jupiter.api.Test;

import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertTrue;

class FreePortsTest
{
    @Test
    void handsOutDistinctBindablePortsBelowTheEphemeralRange() throws Exception
    {
        final Set<Integer> ports = new HashSet<>();
        for (int i = 0; i < 200; i++)
        {
            final int port = FreePorts.udpPort();
            assertTrue(port >= FreePorts.FIRST && port <= FreePorts.LAST && port < 32_768, "port " + port);
            assertTrue(ports.add(port), "port " + port + " handed out twice");
            try (DatagramSocket socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), port)))
            {
                assertTrue(socket.isBound());
            }
        }
    }

    @Test
    void skipsAPortThatIsTaken() throws Exception
    {
        final int port = FreePorts.udpPort();
        // Every later port is probed: hold the next few so that the walk must pass them.
        final int next = FreePorts.FIRST + Math.floorMod(port - FreePorts.FIRST + 1, FreePorts.LAST - FreePorts.FIRST + 1);
        try (DatagramSocket held = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), next)))
        {
            assertTrue(FreePorts.udpPort() != next, "a bound port is not handed out");
        }
    }
}
