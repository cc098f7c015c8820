package io.ringraft.nemesis;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The delay relay on loopback: a "node" sends to its entry port, a "peer" on the Raft port answers the relay. */
class DelayRelayTest
{
    private static final String HOST = "127.0.0.1";

    private static DatagramChannel bind(final int port) throws IOException
    {
        final DatagramChannel c = DatagramChannel.open();
        c.bind(new InetSocketAddress(HOST, port));
        c.configureBlocking(false);
        return c;
    }

    private static void send(final DatagramChannel from, final int toPort, final int value) throws IOException
    {
        from.send(ByteBuffer.allocate(4).putInt(0, value), new InetSocketAddress(HOST, toPort));
    }

    /** @return the values received within {@code ms}, in arrival order */
    private static List<Integer> receive(final DatagramChannel on, final long ms, final SocketAddress[] lastSource) throws Exception
    {
        final List<Integer> values = new ArrayList<>();
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms);
        final ByteBuffer b = ByteBuffer.allocate(64);
        while (System.nanoTime() < deadline)
        {
            b.clear();
            final SocketAddress source = on.receive(b);
            if (source == null)
            {
                Thread.sleep(1);
                continue;
            }
            if (lastSource != null)
            {
                lastSource[0] = source;
            }
            values.add(b.getInt(0));
        }
        return values;
    }

    @Test
    void passesAnswersBackAndDelaysDropsDuplicatesAndReordersWhenImpaired() throws Exception
    {
        try (DatagramChannel peer = bind(0))
        {
            final int raftPort = ((InetSocketAddress)peer.getLocalAddress()).getPort();
            try (DelayRelay relay = new DelayRelay(HOST, Map.of(1L, HOST, 2L, HOST), raftPort, 42);
                DatagramChannel node = bind(0))
            {
                final int entry = relay.entryPort(1, 2);
                assertTrue(relay.portsFrom(1, 2).stream().noneMatch(p -> p == entry), "the peer sees other ports than the entry");

                // Unimpaired: through at once, and the peer's answer (to the relay's port) comes back to the node.
                send(node, entry, 1);
                final SocketAddress[] source = new SocketAddress[1];
                assertEquals(List.of(1), receive(peer, 300, source));
                assertEquals(relay.portsFrom(1, 2).get(0), ((InetSocketAddress)source[0]).getPort(), "data reaches the peer from the relay");
                peer.send(ByteBuffer.allocate(4).putInt(0, 99), source[0]);
                final SocketAddress[] back = new SocketAddress[1];
                assertEquals(List.of(99), receive(node, 300, back));
                assertEquals(entry, ((InetSocketAddress)back[0]).getPort(), "the answer comes from the port the node sent to");

                // Delayed by 200 ms: nothing within 120 ms, then it arrives.
                relay.impair(new DelayRelay.Impairment(200, 0, 0, 0));
                send(node, entry, 2);
                assertEquals(List.of(), receive(peer, 120, null));
                assertEquals(List.of(2), receive(peer, 400, null));

                // Every packet lost.
                relay.impair(new DelayRelay.Impairment(0, 0, 100, 0));
                send(node, entry, 3);
                assertEquals(List.of(), receive(peer, 200, null));

                // Every packet twice.
                relay.impair(new DelayRelay.Impairment(10, 5, 0, 100));
                send(node, entry, 4);
                assertEquals(List.of(4, 4), receive(peer, 300, null));

                // 100 ± 90 ms jitter on 50 packets sent at once: they overtake each other, none lost.
                relay.impair(new DelayRelay.Impairment(100, 90, 0, 0));
                final List<Integer> sent = new ArrayList<>();
                for (int i = 100; i < 150; i++)
                {
                    send(node, entry, i);
                    sent.add(i);
                }
                final List<Integer> got = receive(peer, 600, null);
                assertEquals(Set.copyOf(sent), Set.copyOf(got));
                assertEquals(50, got.size());
                assertNotEquals(sent, got, "reordered");

                relay.impair(DelayRelay.Impairment.NONE);
                final DelayRelay.Counts counts = relay.counts();
                assertEquals(1, counts.dropped());
                assertEquals(1, counts.duplicated());
                assertTrue(counts.reordered() > 0, counts.toString());
                assertEquals(55, counts.relayed(), counts.toString());
            }
        }
    }

    @Test
    void relayModeCutsAndLossMatchTheRelaysPorts()
    {
        final String script = NamespaceLab.relayNftScript(2, 3, "10.213.7.254",
            (from, to) -> List.of((int)(1000 + from * 10 + to), (int)(2000 + to * 10 + from)), Set.of(List.of(1L, 2L)), 22);
        assertTrue(script.contains("ip saddr 10.213.7.254 udp sport { 1012, 2021 } drop"), script);
        assertTrue(script.contains("ip saddr 10.213.7.254 udp sport { 1012, 1032, 2021, 2023 } numgen random mod 100 < 22 drop"), script);
        final String none = NamespaceLab.relayNftScript(3, 3, "10.213.7.254", (from, to) -> List.of(1, 2), Set.of(List.of(1L, 2L)), 0);
        assertTrue(!none.contains("drop"), none);
    }
}
