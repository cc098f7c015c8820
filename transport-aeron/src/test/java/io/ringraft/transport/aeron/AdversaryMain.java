package io.ringraft.transport.aeron;

import io.aeron.Aeron;
import io.aeron.ChannelUriStringBuilder;
import io.aeron.ExclusivePublication;
import io.ringraft.Entry;
import io.ringraft.EntryType;
import io.ringraft.LogId;
import io.ringraft.Membership;
import io.ringraft.network.AppendEntriesRequest;
import io.ringraft.network.InstallSnapshotRequest;
import io.ringraft.network.RaftMessage;
import io.ringraft.network.TimeoutNow;
import io.ringraft.network.VoteRequest;
import io.ringraft.network.VoteResponse;
import io.ringraft.storage.SnapshotMeta;
import org.agrona.CloseHelper;
import org.agrona.concurrent.UnsafeBuffer;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.DatagramChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.locks.LockSupport;

/**
 * A hostile process for {@link AdversaryProcessTest}: it knows the cluster id and the members'
 * ids and endpoints, sits as a UDP relay on the path from node 1 to node 2 (capturing the
 * genuine ringraft frames it forwards), and sends well-formed hostile frames at every node:
 * AppendEntries from a fake leader of the current and of higher terms, AppendEntries truncating
 * below the commit index, votes and TimeoutNow for random terms, fake snapshots, replays of
 * captured frames and captured AppendEntries with a flipped bit in an entry. With a key file it
 * signs what it forges with that (wrong) key; captured frames keep their genuine signature.
 * <p>
 * It refrains from what Raft cannot survive without authentication (the README says what a
 * forger can do there): posing as the leader of the current term, truncating entries that may
 * not be committed yet, snapshots with a valid CRC.
 * <p>
 * Arguments: clusterId, endpoints (1=host:port,...), relayPort, keyFile or "none", attackMillis,
 * seed. Prints "ready" once the relay is up, "attacking" when it starts, and at the end
 * "sent N" then one "kind K n" line per kind and "captured C"; then relays on until its standard
 * input is closed.
 */
public final class AdversaryMain
{
    enum Kind
    {
        FAKE_LEADER_SAME_TERM, FAKE_LEADER_HIGHER_TERM, TRUNCATE_BELOW_COMMIT, VOTE_REQUEST, VOTE_GRANTED, TIMEOUT_NOW, FAKE_SNAPSHOT,
        REPLAY, FLIPPED_ENTRY_BIT
    }

    private static final int MAX_CAPTURED = 4096;
    private final List<byte[]> captured = new ArrayList<>();
    private volatile long learnedTerm = 1;
    private volatile long learnedCommit;
    private volatile long learnedLast;
    private volatile long learnedLeader;

    public static void main(final String[] args) throws Exception
    {
        new AdversaryMain().run(args);
    }

    private void run(final String[] args) throws Exception
    {
        final int clusterId = Integer.parseInt(args[0]);
        final Map<Long, String> endpoints = new TreeMap<>();
        for (final String pair : args[1].split(","))
        {
            final String[] kv = pair.split("=");
            endpoints.put(Long.parseLong(kv[0]), kv[1]);
        }
        final int relayPort = Integer.parseInt(args[2]);
        final Path keyFile = "none".equals(args[3]) ? null : Path.of(args[3]);
        final long attackMillis = Long.parseLong(args[4]);
        final SplittableRandom random = new SplittableRandom(Long.parseLong(args[5]));

        final Thread relay = startRelay(relayPort, endpoints.get(2L));
        final EmbeddedMediaDriver driver = EmbeddedMediaDriver.launch(99, 256 * 1024, false);
        final Aeron aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(driver.aeronDirectoryName()));
        try
        {
            final Map<Long, ExclusivePublication> publications = new TreeMap<>();
            for (final Map.Entry<Long, String> e : endpoints.entrySet())
            {
                publications.put(e.getKey(), aeron.addExclusivePublication(new ChannelUriStringBuilder().media("udp")
                    .endpoint(e.getValue()).termLength(256 * 1024).build(), AeronTransportConfig.STREAM_ID_DEFAULT));
            }
            System.out.println("ready");
            // Capture genuine traffic until it shows the leader, the term and a commit index, then attack.
            final long learnDeadline = System.nanoTime() + 60_000_000_000L;
            while ((learnedLeader == 0 || learnedCommit < 10) && System.nanoTime() < learnDeadline)
            {
                Thread.sleep(10);
            }
            System.out.println("attacking");
            final FrameAuthenticator signer = keyFile == null ? null : new FrameAuthenticator(KeyRing.load(keyFile));
            final int trailer = signer == null ? 0 : FrameAuthenticator.TRAILER_LENGTH;
            final WireEncoder encoder = new WireEncoder(clusterId, 32 * 1024 - trailer, signer == null ? 0 : WireFormat.FLAG_AUTHENTICATED);
            final UnsafeBuffer frame = new UnsafeBuffer(new byte[32 * 1024]);
            final Map<Kind, Integer> counts = new EnumMap<>(Kind.class);
            final Kind[] kinds = Kind.values();
            long sent = 0;
            long sequence = 0;
            final long epoch = SenderEpoch.nowMicros();
            final long end = System.nanoTime() + attackMillis * 1_000_000L;
            while (System.nanoTime() < end)
            {
                final Kind kind = kinds[random.nextInt(kinds.length)];
                final long target = 1 + random.nextInt(3);
                int length;
                if (kind == Kind.REPLAY || kind == Kind.FLIPPED_ENTRY_BIT)
                {
                    final byte[] genuine = pickCaptured(random, kind == Kind.FLIPPED_ENTRY_BIT);
                    if (genuine == null)
                    {
                        continue;
                    }
                    frame.putBytes(0, genuine);
                    length = genuine.length;
                    if (kind == Kind.FLIPPED_ENTRY_BIT)
                    {
                        flipEntryBit(frame, random);
                    }
                    // Captured on the way to node 2: only node 2 is its receiver.
                    if (offer(publications.get(2L), frame, length))
                    {
                        sent++;
                        counts.merge(kind, 1, Integer::sum);
                    }
                    continue;
                }
                // A second leader of the current term poses as a member that does not lead it: posing as
                // the real leader itself is an attack only authentication stops (see the README).
                final long posingAs = kind == Kind.FAKE_LEADER_SAME_TERM ? other(target, learnedLeader, random) : other(target, 0, random);
                if (posingAs == 0 || kind == Kind.TRUNCATE_BELOW_COMMIT && learnedCommit < 10)
                {
                    continue;
                }
                final RaftMessage message = forge(kind, posingAs, target, random);
                length = encoder.encode(message, frame, 0);
                if (signer != null)
                {
                    length += signer.sign(frame, 0, length, epoch, ++sequence);
                }
                if (offer(publications.get(target), frame, length))
                {
                    sent++;
                    counts.merge(kind, 1, Integer::sum);
                }
                LockSupport.parkNanos(200_000);
            }
            System.out.println("failed offers by result " + failedOffers);
            System.out.println("sent " + sent);
            for (final Kind kind : kinds)
            {
                System.out.println("kind " + kind + " " + counts.getOrDefault(kind, 0));
            }
            synchronized (captured)
            {
                System.out.println("captured " + captured.size());
            }
            // The relay stays on the path from node 1 to node 2 until the test closes standard input.
            System.out.flush();
            while (System.in.read() >= 0)
            {
                Thread.onSpinWait();
            }
        }
        finally
        {
            relay.interrupt();
            CloseHelper.closeAll(aeron, driver);
        }
    }

    private final Map<Long, Long> failedOffers = new TreeMap<>();

    private boolean offer(final ExclusivePublication publication, final UnsafeBuffer frame, final int length)
    {
        for (int attempt = 0; attempt < 100; attempt++)
        {
            final long result = publication.offer(frame, 0, length);
            if (result > 0)
            {
                return true;
            }
            failedOffers.merge(result, 1L, Long::sum);
            LockSupport.parkNanos(100_000);
        }
        return false;
    }

    /** @return a member other than {@code target} and {@code excluded}, or 0 if none */
    private static long other(final long target, final long excluded, final SplittableRandom random)
    {
        final long first = 1 + random.nextInt(3);
        for (int i = 0; i < 3; i++)
        {
            final long id = 1 + (first - 1 + i) % 3;
            if (id != target && id != excluded)
            {
                return id;
            }
        }
        return 0;
    }

    private RaftMessage forge(final Kind kind, final long from, final long to, final SplittableRandom random)
    {
        final long term = learnedTerm;
        final long commit = learnedCommit;
        switch (kind)
        {
            case FAKE_LEADER_SAME_TERM:
                return new AppendEntriesRequest(from, to, term, new LogId(term, learnedLast), commit + 100, 1,
                    List.of(new Entry(term, learnedLast + 1, EntryType.NORMAL, payload(random))));
            case FAKE_LEADER_HIGHER_TERM:
            {
                // A previous entry that matches no log: it makes nodes step down, not append.
                final long higher = term + 1 + random.nextInt(3);
                return new AppendEntriesRequest(from, to, higher, new LogId(higher, Math.max(1, commit)), commit, 1,
                    List.of(new Entry(higher, Math.max(1, commit) + 1, EntryType.NORMAL, payload(random))));
            }
            case TRUNCATE_BELOW_COMMIT:
                // Index 1 holds the initial membership (term 0); replace what follows it, committed long ago.
                return new AppendEntriesRequest(from, to, term + random.nextInt(2), new LogId(0, 1), commit, 1,
                    List.of(new Entry(term, 2, EntryType.NORMAL, payload(random)), new Entry(term, 3, EntryType.NORMAL, payload(random))));
            case VOTE_REQUEST:
                return new VoteRequest(from, to, 1 + random.nextInt(1000), new LogId(random.nextInt(1000), random.nextInt(1_000_000)),
                    random.nextBoolean(), random.nextBoolean());
            case VOTE_GRANTED:
                return new VoteResponse(from, to, term + 50 + random.nextInt(1000), true, random.nextBoolean());
            case TIMEOUT_NOW:
                return new TimeoutNow(from, to, random.nextBoolean() ? term : 1 + random.nextInt(1000));
            case FAKE_SNAPSHOT:
            {
                final byte[] chunk = new byte[64];
                random.nextBytes(chunk);
                final boolean behind = random.nextBoolean();
                final LogId last = behind ? new LogId(term + 1, Math.max(2, commit / 2)) : new LogId(term, learnedLast + 100);
                // The declared CRC is not the chunk's: it is never installed, wherever it gets.
                return new InstallSnapshotRequest(from, to, term + (behind ? 1 : 0),
                    new SnapshotMeta(last, Membership.of(1, 2, 3), "forged-" + random.nextInt(1000), chunk.length, 12345), 0, chunk, true);
            }
            default:
                throw new IllegalStateException(kind.name());
        }
    }

    private static byte[] payload(final SplittableRandom random)
    {
        final byte[] bytes = new byte[8];
        random.nextBytes(bytes);
        return bytes;
    }

    private byte[] pickCaptured(final SplittableRandom random, final boolean withEntries)
    {
        synchronized (captured)
        {
            for (int attempt = 0; attempt < 50 && !captured.isEmpty(); attempt++)
            {
                final byte[] frame = captured.get(random.nextInt(captured.size()));
                if (!withEntries || entryCount(frame) > 0)
                {
                    return frame;
                }
            }
        }
        return null;
    }

    private static int entryCount(final byte[] frame)
    {
        final UnsafeBuffer buffer = new UnsafeBuffer(frame);
        if (buffer.getByte(3) != WireFormat.TYPE_APPEND_ENTRIES_REQUEST)
        {
            return 0;
        }
        return buffer.getInt(WireFormat.HEADER_LENGTH + 32 + 4, ByteOrder.LITTLE_ENDIAN);
    }

    /** Flips one bit in the payload of the first entry (or its block if it has no payload). */
    private static void flipEntryBit(final UnsafeBuffer frame, final SplittableRandom random)
    {
        final int entry = WireFormat.HEADER_LENGTH + 32 + WireFormat.ENTRY_GROUP_HEADER_LENGTH;
        final int payloadLength = frame.getInt(entry + 16, ByteOrder.LITTLE_ENDIAN);
        final int at = payloadLength > 0 ? entry + WireFormat.ENTRY_BLOCK_LENGTH + random.nextInt(payloadLength) : entry + 8;
        frame.putByte(at, (byte)(frame.getByte(at) ^ (1 << random.nextInt(8))));
    }

    /**
     * A UDP relay from relayPort to the real endpoint of node 2 and back: node 1 is configured to
     * reach node 2 at relayPort. The ringraft frames of the data it forwards are captured.
     */
    private Thread startRelay(final int relayPort, final String target) throws Exception
    {
        final int colon = target.lastIndexOf(':');
        final InetSocketAddress targetAddress = new InetSocketAddress(target.substring(0, colon), Integer.parseInt(target.substring(colon + 1)));
        final DatagramChannel front = DatagramChannel.open().bind(new InetSocketAddress("127.0.0.1", relayPort));
        final DatagramChannel back = DatagramChannel.open().bind(new InetSocketAddress("127.0.0.1", 0));
        final SocketAddress[] sender = new SocketAddress[1];
        final Thread forward = new Thread(() ->
        {
            final ByteBuffer buffer = ByteBuffer.allocate(65536).order(ByteOrder.LITTLE_ENDIAN);
            try
            {
                while (!Thread.currentThread().isInterrupted())
                {
                    buffer.clear();
                    final SocketAddress from = front.receive(buffer);
                    sender[0] = from;
                    buffer.flip();
                    capture(buffer);
                    back.send(buffer, targetAddress);
                }
            }
            catch (final Exception ignored)
            {
                // closed
            }
        }, "relay-forward");
        final Thread backward = new Thread(() ->
        {
            final ByteBuffer buffer = ByteBuffer.allocate(65536);
            try
            {
                while (!Thread.currentThread().isInterrupted())
                {
                    buffer.clear();
                    back.receive(buffer);
                    buffer.flip();
                    if (sender[0] != null)
                    {
                        front.send(buffer, sender[0]);
                    }
                }
            }
            catch (final Exception ignored)
            {
                // closed
            }
        }, "relay-backward");
        forward.setDaemon(true);
        backward.setDaemon(true);
        forward.start();
        backward.start();
        return forward;
    }

    /** Walks the Aeron frames of a datagram and keeps the unfragmented data frames that hold ringraft frames. */
    private void capture(final ByteBuffer datagram)
    {
        int at = datagram.position();
        final int end = datagram.limit();
        while (at + 32 <= end)
        {
            final int frameLength = datagram.getInt(at);
            final int flags = datagram.get(at + 5) & 0xFF;
            final int type = datagram.getShort(at + 6) & 0xFFFF;
            if (frameLength <= 0)
            {
                break;
            }
            if (type == 1 && (flags & 0xC0) == 0xC0 && frameLength > 32 + WireFormat.HEADER_LENGTH &&
                (datagram.getShort(at + 32) & 0xFFFF) == WireFormat.MAGIC)
            {
                final byte[] frame = new byte[frameLength - 32];
                for (int i = 0; i < frame.length; i++)
                {
                    frame[i] = datagram.get(at + 32 + i);
                }
                final UnsafeBuffer view = new UnsafeBuffer(frame);
                learnedTerm = Math.max(learnedTerm, view.getLong(32, ByteOrder.LITTLE_ENDIAN));
                if (frame[3] == WireFormat.TYPE_APPEND_ENTRIES_REQUEST)
                {
                    learnedLeader = view.getLong(16, ByteOrder.LITTLE_ENDIAN);
                    learnedCommit = Math.max(learnedCommit, view.getLong(WireFormat.HEADER_LENGTH + 16, ByteOrder.LITTLE_ENDIAN));
                    learnedLast = Math.max(learnedLast, view.getLong(WireFormat.HEADER_LENGTH + 8, ByteOrder.LITTLE_ENDIAN));
                }
                synchronized (captured)
                {
                    if (captured.size() < MAX_CAPTURED)
                    {
                        captured.add(frame);
                    }
                    else
                    {
                        captured.set((int)(System.nanoTime() % MAX_CAPTURED), frame);
                    }
                }
            }
            at += (frameLength + 31) & ~31;
        }
    }
}
