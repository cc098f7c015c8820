package io.ringraft.server;

import io.ringraft.server.kv.KvClient;
import io.ringraft.server.kv.KvProtocol;
import io.ringraft.server.kv.KvResponse;
import org.HdrHistogram.Histogram;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Drives a {@link KvClient} with puts of unique keys, or of keys from a bounded key space (each put
 * overwriting an earlier one, so the nodes' state stops growing), and optionally linearizable gets
 * of keys already acknowledged, in a closed loop (a fixed window of requests in flight) or an open loop
 * (a fixed offered rate, each latency measured from the request's intended start so that a
 * stall is not hidden: coordinated omission corrected), recording latencies in an HdrHistogram.
 * <p>
 * It remembers every acknowledged put (with a key space: the latest per key) and every put of unknown
 * outcome, so that a run can be checked against the nodes' state afterwards; and it checks that every
 * get saw the acknowledged value (with a key space: that put's or a later one's of the same key).
 */
final class Workload
{
    /** Called between duty cycles, e.g. to print progress or kill a node. */
    interface Tick
    {
        void onTick(long nowNs);
    }

    private static final long HIGHEST_NS = TimeUnit.SECONDS.toNanos(60);

    private final KvClient client;
    private final String keyPrefix;
    private final org.agrona.concurrent.IdleStrategy waiting;
    private final int payloadLength;
    private final int readEvery;
    private final long keySpace;
    private final Histogram histogram = new Histogram(HIGHEST_NS, 3);
    private final Histogram intervalHistogram = new Histogram(HIGHEST_NS, 3);
    private final Map<String, Long> acked = new HashMap<>();
    private final List<String> ackedKeys = new ArrayList<>();
    private final Map<String, Long> unknown = new HashMap<>();
    private long nextKey;
    private int inFlight;
    private long writesOk;
    private long writesFailed;
    private long readsOk;
    private long staleReads;
    private String firstStaleRead;
    private boolean recording = true;

    /**
     * @param client        the client
     * @param keyPrefix     makes keys unique across runs against one cluster
     * @param payloadLength bytes per value (at least 8)
     * @param readEvery     every n-th operation is a linearizable get (0 = none)
     */
    Workload(final KvClient client, final String keyPrefix, final int payloadLength, final int readEvery)
    {
        this(client, keyPrefix, payloadLength, readEvery, 0);
    }

    /**
     * @param client        the client
     * @param keyPrefix     makes keys unique across runs against one cluster
     * @param payloadLength bytes per value (at least 8)
     * @param readEvery     every n-th operation is a linearizable get (0 = none)
     * @param keySpace      puts go to this many keys in turn, each overwriting the last put of its key (0: every
     *                      put has a key of its own)
     */
    Workload(final KvClient client, final String keyPrefix, final int payloadLength, final int readEvery, final long keySpace)
    {
        this.keySpace = keySpace;
        // A client that runs its driver sleeps on the driver's sockets; else yield for a millisecond, then park.
        this.waiting = client.invokedDriver() ? client.idleStrategy() : new io.ringraft.YieldThenParkIdleStrategy(20, 1_000_000, 16_000, 1_000_000);
        this.client = client;
        this.keyPrefix = keyPrefix;
        this.payloadLength = Math.max(8, payloadLength);
        this.readEvery = readEvery;
    }

    /**
     * Keeps {@code window} requests in flight for {@code durationNs}, then waits for the answers.
     */
    void closedLoop(final int window, final long durationNs, final Tick tick)
    {
        final long end = System.nanoTime() + durationNs;
        long lastTick = 0;
        while (true)
        {
            final long now = System.nanoTime();
            if (now >= end)
            {
                break;
            }
            while (inFlight < window)
            {
                submit(System.nanoTime());
            }
            final int work = client.poll();
            if (now - lastTick > 10_000_000L)
            {
                lastTick = now;
                tick.onTick(now);
            }
            waiting.idle(work);
        }
        drain(tick);
    }

    /**
     * Offers {@code ratePerSecond} requests per second for {@code durationNs} whatever the answers
     * (at most {@code maxInFlight} waiting; beyond that, sends are late and their latency shows it),
     * then waits for the answers.
     */
    void openLoop(final long ratePerSecond, final int maxInFlight, final long durationNs, final Tick tick)
    {
        final long start = System.nanoTime();
        final long end = start + durationNs;
        final double intervalNs = 1e9 / ratePerSecond;
        long sent = 0;
        long lastTick = 0;
        while (true)
        {
            final long now = System.nanoTime();
            if (now >= end)
            {
                break;
            }
            long intended = start + (long)(sent * intervalNs);
            while (intended <= now && inFlight < maxInFlight)
            {
                submit(intended);
                sent++;
                intended = start + (long)(sent * intervalNs);
            }
            final int work = client.poll();
            if (now - lastTick > 10_000_000L)
            {
                lastTick = now;
                tick.onTick(now);
            }
            if (work == 0 && intended - System.nanoTime() > 50_000)
            {
                LockSupport.parkNanos(20_000);
            }
        }
        drain(tick);
    }

    private void drain(final Tick tick)
    {
        while (inFlight > 0)
        {
            if (client.poll() == 0)
            {
                LockSupport.parkNanos(50_000);
            }
            tick.onTick(System.nanoTime());
        }
    }

    private void submit(final long intendedNs)
    {
        final long n = nextKey++;
        inFlight++;
        if (readEvery > 0 && n % readEvery == readEvery - 1 && !ackedKeys.isEmpty())
        {
            final String key = ackedKeys.get(ThreadLocalRandom.current().nextInt(ackedKeys.size()));
            final long expectedSeq = acked.get(key);
            client.submit(KvProtocol.GET, key, null, null, true, (id, r) -> onRead(key, expectedSeq, intendedNs, r));
            return;
        }
        final String key = keyPrefix + (keySpace > 0 ? n % keySpace : n);
        client.submit(KvProtocol.PUT, key, value(n), null, false, (id, r) -> onWrite(key, n, intendedNs, r));
    }

    private void onWrite(final String key, final long seq, final long intendedNs, final KvResponse r)
    {
        inFlight--;
        if (r.status() == KvProtocol.OK)
        {
            writesOk++;
            final Long earlier = acked.get(key);
            if (earlier == null)
            {
                ackedKeys.add(key);
            }
            if (earlier == null || earlier < seq)
            {
                acked.put(key, seq); // puts of one key may be answered out of order: the latest counts
            }
            record(r.completedNs() - intendedNs);
        }
        else if (r.status() == KvProtocol.NO_ANSWER || r.status() == KvProtocol.UNKNOWN_OUTCOME)
        {
            unknown.put(key, seq);
        }
        else
        {
            writesFailed++;
        }
    }

    private void onRead(final String key, final long expectedSeq, final long intendedNs, final KvResponse r)
    {
        inFlight--;
        if (r.status() == KvProtocol.OK || r.status() == KvProtocol.NOT_FOUND)
        {
            if (r.value() == null || !holdsPutAtOrAfter(r.value(), expectedSeq))
            {
                staleReads++;
                if (firstStaleRead == null)
                {
                    firstStaleRead = "get " + key + " returned " + (r.value() == null ? "nothing" : r.value().length + " other bytes") +
                        " from " + r.endpoint() + " after its put was acknowledged";
                }
            }
            else
            {
                readsOk++;
                record(r.completedNs() - intendedNs);
            }
        }
    }

    /**
     * @return true if {@code value} is what the put {@code expectedSeq} wrote, or (with a key space) what a later put
     * of the same key wrote: a read after an acknowledged put sees it or a newer one, never an older one
     */
    private boolean holdsPutAtOrAfter(final byte[] value, final long expectedSeq)
    {
        if (keySpace == 0 || value.length < 8)
        {
            return Arrays.equals(value, value(expectedSeq));
        }
        long seq = 0;
        for (int i = 0; i < 8; i++)
        {
            seq |= (value[i] & 0xFFL) << (8 * i);
        }
        return seq >= expectedSeq && seq < nextKey && seq % keySpace == expectedSeq % keySpace && Arrays.equals(value, value(seq));
    }

    private void record(final long latencyNs)
    {
        if (recording)
        {
            final long v = Math.max(1, Math.min(latencyNs, HIGHEST_NS));
            histogram.recordValue(v);
            intervalHistogram.recordValue(v);
        }
    }

    /**
     * @param seq a put's sequence number
     * @return the value that put writes: the sequence number, then filler
     */
    byte[] value(final long seq)
    {
        final byte[] v = new byte[payloadLength];
        for (int i = 0; i < 8; i++)
        {
            v[i] = (byte)(seq >>> (8 * i));
        }
        for (int i = 8; i < v.length; i++)
        {
            v[i] = (byte)('a' + (seq + i) % 26);
        }
        return v;
    }

    /** @param on false to stop recording latencies (warm-up) */
    void recording(final boolean on)
    {
        recording = on;
    }

    /** Forgets the latencies recorded so far. */
    void resetHistogram()
    {
        histogram.reset();
        intervalHistogram.reset();
    }

    /** @return every latency recorded */
    Histogram histogram()
    {
        return histogram;
    }

    /** @return the p99 since the last call, in ns, and starts a new interval */
    long intervalP99AndReset()
    {
        final long p99 = intervalHistogram.getTotalCount() == 0 ? 0 : intervalHistogram.getValueAtPercentile(99);
        intervalHistogram.reset();
        return p99;
    }

    /** @return acknowledged puts: key to sequence number */
    Map<String, Long> acked()
    {
        return acked;
    }

    /** @return puts of unknown outcome: key to sequence number */
    Map<String, Long> unknown()
    {
        return unknown;
    }

    long writesOk()
    {
        return writesOk;
    }

    long writesFailed()
    {
        return writesFailed;
    }

    long readsOk()
    {
        return readsOk;
    }

    long staleReads()
    {
        return staleReads;
    }

    /** @return the first stale read, described, or null */
    String firstStaleRead()
    {
        return firstStaleRead;
    }

    /** @return operations answered successfully */
    long completed()
    {
        return writesOk + readsOk;
    }
}
