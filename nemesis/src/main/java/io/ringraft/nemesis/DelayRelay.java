package io.ringraft.nemesis;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A user-space relay for the packets between nodes, in the nemesis process on the bridge's
 * address: every node's packets to a peer's Raft port are turned to the relay by a DNAT rule in
 * the sending node's namespace ({@link NamespaceLab}), and the relay sends them on to the peer
 * from a socket of its own, and the peer's answers (Aeron's status messages and NAKs) back the
 * same way; the sender's connection tracking makes the answers look as if they came from the
 * peer. Between the two it holds each packet for a delay with jitter (which reorders them), and
 * duplicates or drops a share, with one seeded random source: what the kernel here cannot do
 * (no {@code netem}).
 * <p>
 * Each ordered pair of nodes (a flow from {@code from} to {@code to}) has two sockets: one facing
 * the sender (it receives the sender's data and returns the receiver's answers to it) and one
 * facing the receiver (it sends the data to the receiver's Raft port and receives its answers).
 * So what node {@code to} receives from node {@code from} comes from the bridge's address and one
 * of two ports: {@link #portsFrom(long, long)} (used to cut links with nftables in relay mode).
 * One thread; it allocates a copy of each packet it holds (a test tool, not a hot path).
 */
final class DelayRelay implements AutoCloseable
{
    /**
     * What the relay does to every packet while it is in force.
     *
     * @param delayMs          the mean one-way delay added
     * @param jitterMs         the delay is drawn uniformly in {@code delayMs ± jitterMs} (packets overtake each other)
     * @param lossPercent      the share dropped
     * @param duplicatePercent the share sent twice (the copy with its own delay)
     */
    record Impairment(long delayMs, long jitterMs, int lossPercent, int duplicatePercent)
    {
        /** Nothing added: packets pass at once. */
        static final Impairment NONE = new Impairment(0, 0, 0, 0);

        @Override
        public String toString()
        {
            return String.format(Locale.ROOT, "delay %d±%d ms, %d%% loss, %d%% duplicated", delayMs, jitterMs, lossPercent, duplicatePercent);
        }
    }

    /** What the relay did, for the report. */
    record Counts(long relayed, long delayed, long dropped, long duplicated, long reordered)
    {
    }

    private static final int MAX_DATAGRAM = 65_536;

    private final Selector selector;
    private final Map<List<Long>, Link> links = new HashMap<>();
    private final PriorityQueue<Held> held = new PriorityQueue<>((a, b) -> a.releaseNs != b.releaseNs ?
        Long.compare(a.releaseNs, b.releaseNs) : Long.compare(a.order, b.order));
    private final ByteBuffer buffer = ByteBuffer.allocateDirect(MAX_DATAGRAM);
    private final SplittableRandom random;
    private final Thread thread;
    private final AtomicLong relayed = new AtomicLong();
    private final AtomicLong delayed = new AtomicLong();
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong duplicated = new AtomicLong();
    private final AtomicLong reordered = new AtomicLong();
    private volatile Impairment impairment = Impairment.NONE;
    private volatile boolean running = true;
    private long order;

    /** One direction's flow between two nodes: the socket facing the sender, the one facing the receiver. */
    private static final class Link
    {
        final long from;
        final long to;
        final DatagramChannel facingSender;
        final DatagramChannel facingReceiver;
        final InetSocketAddress receiver;
        SocketAddress sender;
        long lastReleaseToReceiverNs;
        long lastReleaseToSenderNs;

        Link(final long from, final long to, final DatagramChannel facingSender, final DatagramChannel facingReceiver,
            final InetSocketAddress receiver)
        {
            this.from = from;
            this.to = to;
            this.facingSender = facingSender;
            this.facingReceiver = facingReceiver;
            this.receiver = receiver;
        }
    }

    /** A packet held until its release. */
    private record Held(long releaseNs, long order, DatagramChannel via, SocketAddress target, byte[] bytes)
    {
    }

    /**
     * Opens the sockets of every ordered pair and starts the relay's thread (packets pass at once
     * until {@link #impair} says otherwise).
     *
     * @param bindHost  the address the relay's sockets bind (the bridge's)
     * @param hosts     every node's address, by id
     * @param raftPort  the nodes' Raft port
     * @param seed      seeds the delays, drops and duplicates
     */
    DelayRelay(final String bindHost, final Map<Long, String> hosts, final int raftPort, final long seed)
    {
        this.random = new SplittableRandom(seed);
        try
        {
            selector = Selector.open();
            for (final long from : hosts.keySet())
            {
                for (final long to : hosts.keySet())
                {
                    if (from == to)
                    {
                        continue;
                    }
                    final DatagramChannel a = open(bindHost);
                    final DatagramChannel b = open(bindHost);
                    final Link link = new Link(from, to, a, b, new InetSocketAddress(hosts.get(to), raftPort));
                    a.register(selector, SelectionKey.OP_READ, link);
                    b.register(selector, SelectionKey.OP_READ, link);
                    links.put(List.of(from, to), link);
                }
            }
        }
        catch (final IOException ex)
        {
            close();
            throw new UncheckedIOException("the delay relay cannot open its sockets on " + bindHost, ex);
        }
        thread = new Thread(this::run, "nemesis-delay-relay");
        thread.setDaemon(true);
        thread.start();
    }

    private static DatagramChannel open(final String host) throws IOException
    {
        final DatagramChannel channel = DatagramChannel.open();
        channel.configureBlocking(false);
        channel.bind(new InetSocketAddress(host, 0));
        return channel;
    }

    /** @return the port node {@code from}'s packets to node {@code to} are turned to (the DNAT target) */
    int entryPort(final long from, final long to)
    {
        return port(links.get(List.of(from, to)).facingSender);
    }

    /**
     * @return the two ports of the relay that packets from node {@code from} reach node {@code to}
     *         from: its data to {@code to}, and its answers to {@code to}'s data
     */
    List<Integer> portsFrom(final long from, final long to)
    {
        return List.of(port(links.get(List.of(from, to)).facingReceiver), port(links.get(List.of(to, from)).facingSender));
    }

    private static int port(final DatagramChannel channel)
    {
        try
        {
            return ((InetSocketAddress)channel.getLocalAddress()).getPort();
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }

    /** Puts {@code what} in force for every packet from now on ({@link Impairment#NONE} heals). */
    void impair(final Impairment what)
    {
        impairment = what;
        selector.wakeup();
    }

    /** @return what the relay did so far */
    Counts counts()
    {
        return new Counts(relayed.get(), delayed.get(), dropped.get(), duplicated.get(), reordered.get());
    }

    private void run()
    {
        while (running)
        {
            try
            {
                final long now = System.nanoTime();
                releaseDue(now);
                final Held next = held.peek();
                final long waitMs = next == null ? 100 : Math.max(1, TimeUnit.NANOSECONDS.toMillis(next.releaseNs - now));
                selector.select(waitMs);
                for (final SelectionKey key : selector.selectedKeys())
                {
                    final Link link = (Link)key.attachment();
                    final DatagramChannel channel = (DatagramChannel)key.channel();
                    receiveAll(link, channel);
                }
                selector.selectedKeys().clear();
            }
            catch (final IOException | RuntimeException ex)
            {
                if (running)
                {
                    System.err.println("nemesis: delay relay: " + ex);
                }
            }
        }
    }

    private void receiveAll(final Link link, final DatagramChannel channel) throws IOException
    {
        while (true)
        {
            buffer.clear();
            final SocketAddress source = channel.receive(buffer);
            if (source == null)
            {
                return;
            }
            buffer.flip();
            final boolean towardReceiver = channel == link.facingSender;
            final SocketAddress target;
            final DatagramChannel via;
            if (towardReceiver)
            {
                link.sender = source; // a restarted node sends from a new port
                target = link.receiver;
                via = link.facingReceiver;
            }
            else
            {
                target = link.sender;
                via = link.facingSender;
                if (target == null)
                {
                    continue; // the receiver answers a sender the relay has not heard from: nowhere to go
                }
            }
            forward(link, towardReceiver, via, target);
        }
    }

    private void forward(final Link link, final boolean towardReceiver, final DatagramChannel via, final SocketAddress target)
        throws IOException
    {
        final Impairment now = impairment;
        relayed.incrementAndGet();
        if (now.lossPercent() > 0 && random.nextInt(100) < now.lossPercent())
        {
            dropped.incrementAndGet();
            return;
        }
        final int copies = now.duplicatePercent() > 0 && random.nextInt(100) < now.duplicatePercent() ? 2 : 1;
        if (copies == 2)
        {
            duplicated.incrementAndGet();
        }
        for (int c = 0; c < copies; c++)
        {
            if (now.delayMs() == 0 && now.jitterMs() == 0 && held.isEmpty())
            {
                buffer.rewind();
                via.send(buffer, target);
                continue;
            }
            final long delayMs = Math.max(0, now.delayMs() - now.jitterMs() + random.nextLong(2 * now.jitterMs() + 1));
            final long releaseNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(delayMs);
            if (towardReceiver ? releaseNs < link.lastReleaseToReceiverNs : releaseNs < link.lastReleaseToSenderNs)
            {
                reordered.incrementAndGet();
            }
            if (towardReceiver)
            {
                link.lastReleaseToReceiverNs = Math.max(link.lastReleaseToReceiverNs, releaseNs);
            }
            else
            {
                link.lastReleaseToSenderNs = Math.max(link.lastReleaseToSenderNs, releaseNs);
            }
            final byte[] bytes = new byte[buffer.limit()];
            buffer.rewind();
            buffer.get(bytes);
            held.add(new Held(releaseNs, order++, via, target, bytes));
            delayed.incrementAndGet();
        }
    }

    private void releaseDue(final long now) throws IOException
    {
        while (!held.isEmpty() && held.peek().releaseNs - now <= 0)
        {
            final Held h = held.poll();
            h.via().send(ByteBuffer.wrap(h.bytes()), h.target());
        }
    }

    /** Stops the thread and closes the sockets. Idempotent. */
    @Override
    public void close()
    {
        running = false;
        if (selector != null)
        {
            selector.wakeup();
        }
        if (thread != null)
        {
            try
            {
                thread.join(2_000);
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
        }
        for (final Link link : links.values())
        {
            closeQuietly(link.facingSender);
            closeQuietly(link.facingReceiver);
        }
        if (selector != null)
        {
            try
            {
                selector.close();
            }
            catch (final IOException ex)
            {
                System.err.println("nemesis: delay relay: " + ex);
            }
        }
    }

    private static void closeQuietly(final DatagramChannel channel)
    {
        try
        {
            channel.close();
        }
        catch (final IOException ex)
        {
            System.err.println("nemesis: delay relay: " + ex);
        }
    }
}
