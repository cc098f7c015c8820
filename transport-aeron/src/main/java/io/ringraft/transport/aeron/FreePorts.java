package io.ringraft.transport.aeron;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * UDP ports for clusters on one machine (the demo, the load generator, tests, benchmarks): each call a port
 * on 127.0.0.1 that is free at the time and that this JVM has not handed out before.
 * <p>
 * The ports come from {@value #FIRST}–{@value #LAST}, below the kernel's ephemeral range (32768–60999 on
 * Linux, 49152–65535 elsewhere). A port the kernel picks for a bind to port 0 (a probe's, or one of the many
 * Aeron binds for its own sockets) may be taken by the next such bind, in this process or another, before the
 * node it was meant for binds it; a port outside that range is only ever taken by whoever asks for it by number.
 * Each JVM starts at its own place in the range (from its process id) and walks it, so that clusters started
 * at once by several JVMs rarely probe the same port.
 */
public final class FreePorts
{
    /** The lowest port handed out. */
    public static final int FIRST = 20_000;
    /** The highest port handed out. */
    public static final int LAST = 31_999;
    private static final int COUNT = LAST - FIRST + 1;
    private static final AtomicInteger NEXT = new AtomicInteger((int)((ProcessHandle.current().pid() * 7919L) % COUNT));

    private FreePorts()
    {
    }

    /**
     * @return a UDP port on 127.0.0.1, free a moment ago and not handed out before by this JVM
     * @throws IllegalStateException if no port of the range can be bound
     */
    public static int udpPort()
    {
        for (int i = 0; i < COUNT; i++)
        {
            final int port = FIRST + Math.floorMod(NEXT.getAndIncrement(), COUNT);
            if (bindable(port))
            {
                return port;
            }
        }
        throw new IllegalStateException("no free UDP port on 127.0.0.1 from " + FIRST + " to " + LAST);
    }

    private static boolean bindable(final int port)
    {
        try (DatagramSocket socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), port)))
        {
            return true;
        }
        catch (final IOException ex)
        {
            return false;
        }
    }
}
