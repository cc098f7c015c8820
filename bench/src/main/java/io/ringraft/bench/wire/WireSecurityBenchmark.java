package io.ringraft.bench.wire;

import io.ringraft.Entry;
import io.ringraft.EntryType;
import io.ringraft.LogId;
import io.ringraft.network.AppendEntriesRequest;
import io.ringraft.network.AppendEntriesResponse;
import io.ringraft.network.RaftMessage;
import io.ringraft.transport.aeron.ClusterKeys;
import io.ringraft.transport.aeron.FrameAuthenticator;
import io.ringraft.transport.aeron.KeyRing;
import io.ringraft.transport.aeron.WireEncoder;
import io.ringraft.transport.aeron.WireFormat;
import org.agrona.concurrent.UnsafeBuffer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * What the wire's security costs per frame: signing a frame and verifying it (HMAC-SHA256
 * truncated to 16 bytes over the whole frame), for an AppendEntries of 1 or 16 64-byte entries and
 * for its 73-byte response; and checking one entry's CRC32C, as a follower does before making it
 * durable. The received frame sits in a direct buffer, as Aeron's term buffers do.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class WireSecurityBenchmark
{
    @Param({"response", "append1", "append16"})
    public String frame;

    private final UnsafeBuffer out = new UnsafeBuffer(new byte[64 * 1024]);
    private final UnsafeBuffer in = new UnsafeBuffer(ByteBuffer.allocateDirect(64 * 1024));
    private FrameAuthenticator signer;
    private FrameAuthenticator verifier;
    private AppendEntriesRequest request;
    private int length;
    private long sequence;

    @Setup
    public void setUp()
    {
        final byte[] key = new byte[32];
        new java.util.Random(1).nextBytes(key);
        final KeyRing ring = new KeyRing(new ClusterKeys("bench", new int[]{1}, new byte[][]{key}, 1));
        signer = new FrameAuthenticator(ring);
        verifier = new FrameAuthenticator(ring);
        final List<Entry> entries = new ArrayList<>();
        for (int i = 0; i < ("append16".equals(frame) ? 16 : 1); i++)
        {
            entries.add(new Entry(3, 100 + i, EntryType.NORMAL, new byte[64]));
        }
        request = new AppendEntriesRequest(1, 2, 3, new LogId(3, 99), 98, 7, entries);
        final RaftMessage message = "response".equals(frame) ? new AppendEntriesResponse(2, 1, 3, true, 100, 0, 0, 7) : request;
        final WireEncoder encoder = new WireEncoder(7, 64 * 1024 - FrameAuthenticator.TRAILER_LENGTH, WireFormat.FLAG_AUTHENTICATED);
        length = encoder.encode(message, out, 0);
        in.putBytes(0, out, 0, length + signer.sign(out, 0, length, 1, 1));
    }

    /** The sender's cost per frame. */
    @Benchmark
    public int sign()
    {
        return signer.sign(out, 0, length, 1, ++sequence);
    }

    /** The receiver's cost per frame (a frame in a direct buffer). */
    @Benchmark
    public int verify()
    {
        return verifier.verify(in, 0, length + FrameAuthenticator.TRAILER_LENGTH);
    }

    /** The follower's check of every entry's CRC32C in the frame (0 for a response). */
    @Benchmark
    public boolean entryChecksums()
    {
        boolean ok = true;
        for (int i = 0; i < request.entries().size() && !"response".equals(frame); i++)
        {
            ok &= request.entries().checksumMatches(i);
        }
        return ok;
    }
}
