package io.ringraft.bench.aeron;

import io.ringraft.Membership;
import io.ringraft.Raft;
import io.ringraft.RaftConfig;
import io.ringraft.RaftMetrics;
import io.ringraft.ThreadingMode;
import io.ringraft.WriteHandler;
import io.ringraft.WriteStatus;
import io.ringraft.bench.BenchClusters;
import io.ringraft.bench.core.CountingStateMachine;
import io.ringraft.storage.DurabilityPolicy;
import io.ringraft.storage.InMemoryLogStorage;
import io.ringraft.storage.RaftLogStorage;
import io.ringraft.storage.chronicle.ChronicleLogStorage;
import io.ringraft.storage.chronicle.ChronicleStorageContext;
import io.ringraft.transport.aeron.AeronRaftNetwork;
import io.ringraft.transport.aeron.AeronTransportConfig;
import org.HdrHistogram.Histogram;
import org.agrona.DirectBuffer;
import org.agrona.IoUtil;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Three Raft nodes in one JVM over Aeron UDP on 127.0.0.1, each node with its own embedded
 * media driver in INVOKER mode driven by the node itself (no driver or client conductor thread),
 * a 64-byte write load on the leader with a fixed window of writes in flight, and the commit
 * latency of each write (from {@code clientWrite} to the leader's OK, i.e. committed by a majority
 * and applied on the leader) in an HdrHistogram, with the throughput, per window.
 * <p>
 * Threading ({@code mode=}): {@code single}, one thread drives all three nodes ({@link ThreadingMode#INVOKER})
 * and the load in one busy loop (one spinning thread on two cores); {@code per-node}, each node on one
 * thread of its own ({@link ThreadingMode#SHARED}, backoff idle) and the load on a fourth thread
 * (backoff idle).
 * <p>
 * {@code java -cp benchmarks.jar io.ringraft.bench.aeron.AeronClusterBench [log=memory|chronicle]
 * [durability=BATCH|NONE|ALWAYS] [mode=single|per-node] [windows=1,16,256,4096] [seconds=5] [warmup=2]
 * [term=1048576] [auth=off|on|both] [rounds=1]}; Chronicle logs go under {@code -Dringraft.bench.dir} (default
 * java.io.tmpdir). {@code auth=both} alternates a cluster without and one with authenticated frames, round after
 * round, then prints the medians over the rounds and the ratios on/off.
 */
public final class AeronClusterBench
{
    private static final int PAYLOAD_LENGTH = 64;
    private static final int CLUSTER_ID = 77;

    private final Map<String, String> settings;
    private final Path keyFile;
    private final Map<String, double[]> results = new LinkedHashMap<>();
    private final boolean single;
    private final Raft[] nodes = new Raft[3];
    private final List<Path> dataDirs = new ArrayList<>();
    private Raft leader;

    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicLong measured = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private volatile Histogram histogram;
    private volatile long firstMeasured = Long.MAX_VALUE;
    private volatile long lastMeasured = Long.MAX_VALUE;
    private volatile long measureEnd;
    private long[] sentAt = new long[1];
    private int slotMask;
    private final WriteHandler onResult = this::onResult;

    private AeronClusterBench(final Map<String, String> settings, final Path keyFile)
    {
        this.keyFile = keyFile;
        this.settings = settings;
        final String mode = settings.get("mode");
        if (!"single".equals(mode) && !"per-node".equals(mode))
        {
            throw new IllegalArgumentException("mode=" + mode + " must be single or per-node");
        }
        single = "single".equals(mode);
    }

    /**
     * @param args {@code key=value} settings, see the class comment
     * @throws Exception on failure
     */
    public static void main(final String[] args) throws Exception
    {
        final Map<String, String> settings = new LinkedHashMap<>();
        settings.put("log", "memory");
        settings.put("durability", "BATCH");
        settings.put("mode", "single");
        settings.put("windows", "1,16,256,4096");
        settings.put("seconds", "5");
        settings.put("warmup", "2");
        settings.put("term", Integer.toString(1024 * 1024));
        settings.put("replicationWindow", "2");
        settings.put("maxEntriesPerAppend", "1024");
        settings.put("maxWritesPerBatch", "4096");
        settings.put("sendQueue", "256");
        settings.put("auth", "off");
        settings.put("rounds", "1");
        for (final String arg : args)
        {
            final String[] kv = arg.split("=", 2);
            if (kv.length != 2 || !settings.containsKey(kv[0]))
            {
                throw new IllegalArgumentException("unknown setting '" + arg + "'; settings: " + settings.keySet());
            }
            settings.put(kv[0], kv[1]);
        }
        final String auth = settings.get("auth");
        if (!auth.equals("off") && !auth.equals("on") && !auth.equals("both"))
        {
            throw new IllegalArgumentException("auth=" + auth + " must be off, on or both");
        }
        final List<Boolean> runs = auth.equals("both") ? List.of(false, true) : List.of(auth.equals("on"));
        // A random cluster key in a file, as a deployment has it.
        final Path keyFile = Files.createTempFile("ringraft-bench", ".key");
        try
        {
            final byte[] key = new byte[32];
            new java.security.SecureRandom().nextBytes(key);
            Files.writeString(keyFile, "key.1 = " + org.agrona.BitUtil.toHex(key) + "\n");
            final Map<String, List<double[]>> results = new LinkedHashMap<>();
            for (int round = 1; round <= Integer.parseInt(settings.get("rounds")); round++)
            {
                for (final boolean authenticated : runs)
                {
                    System.out.println("# round " + round + " authentication " + (authenticated ? "on" : "off"));
                    final AeronClusterBench bench = new AeronClusterBench(settings, authenticated ? keyFile : null);
                    try
                    {
                        bench.start();
                        bench.run();
                    }
                    finally
                    {
                        bench.close();
                    }
                    bench.results.forEach((label, r) -> results.computeIfAbsent((authenticated ? "auth on  " : "auth off ") + label,
                        k -> new ArrayList<>()).add(r));
                }
            }
            if (runs.size() == 2 || Integer.parseInt(settings.get("rounds")) > 1)
            {
                summarize(results);
            }
        }
        finally
        {
            Files.deleteIfExists(keyFile);
        }
    }

    /** Medians over the rounds of each window's p50, p99 and throughput, and the ratios auth on / off. */
    private static void summarize(final Map<String, List<double[]>> results)
    {
        System.out.println("# medians over rounds: label | p50 us | p99 us | ops/s");
        final Map<String, double[]> medians = new LinkedHashMap<>();
        results.forEach((label, rows) ->
        {
            final double[] m = new double[3];
            for (int i = 0; i < 3; i++)
            {
                final int column = i;
                final double[] values = rows.stream().mapToDouble(r -> r[column]).sorted().toArray();
                m[i] = values.length % 2 == 1 ? values[values.length / 2] : (values[values.length / 2 - 1] + values[values.length / 2]) / 2;
            }
            medians.put(label, m);
            System.out.printf("#   %-22s p50 %8.1f  p99 %8.1f  %10.0f ops/s  (%d rounds)%n", label, m[0] / 1000, m[1] / 1000, m[2], rows.size());
        });
        medians.forEach((label, on) ->
        {
            if (label.startsWith("auth on  "))
            {
                final double[] off = medians.get("auth off " + label.substring(9));
                if (off != null)
                {
                    System.out.printf("#   ratio on/off %-13s p50 %.3f  p99 %.3f  throughput %.3f%n", label.substring(9), on[0] / off[0],
                        on[1] / off[1], on[2] / off[2]);
                }
            }
        });
    }

    private void start() throws IOException
    {
        final Map<Long, String> endpoints = new TreeMap<>();
        for (long id = 1; id <= 3; id++)
        {
            endpoints.put(id, "127.0.0.1:" + BenchPorts.freePort());
        }
        final int term = Integer.parseInt(settings.get("term"));
        for (int i = 0; i < 3; i++)
        {
            final long id = i + 1;
            final AeronRaftNetwork network = new AeronRaftNetwork(new AeronTransportConfig()
                .nodeId(id).clusterId(CLUSTER_ID).endpoints(endpoints).termLength(term).embeddedDriver(true).invoker(true)
                .authKeyFile(keyFile));
            final RaftConfig config = new RaftConfig().nodeId(id).randomSeed(id)
                .threadingMode(single ? ThreadingMode.INVOKER : ThreadingMode.SHARED)
                .electionTimeout(500, 1000, TimeUnit.MILLISECONDS)
                .heartbeatInterval(20, TimeUnit.MILLISECONDS)
                .ingressRingSize(16 * 1024).applyRingSize(16 * 1024)
                .maxPayloadLength(1024)
                .replicationWindow(Integer.parseInt(settings.get("replicationWindow")))
                .maxEntriesPerAppend(Integer.parseInt(settings.get("maxEntriesPerAppend")))
                .maxWritesPerBatch(Integer.parseInt(settings.get("maxWritesPerBatch")))
                .sendQueueCapacity(Integer.parseInt(settings.get("sendQueue")))
                .snapshotEveryEntries(200_000).logRetainEntries(1024);
            if (!single)
            {
                config.coreIdleStrategy(() -> new BackoffIdleStrategy(100, 10, 1_000, 100_000));
            }
            final RaftLogStorage log = storage(id);
            nodes[i] = Raft.start(config, log, BenchClusters.snapshotStoreFor(log), network, new CountingStateMachine(), Membership.of(1, 2, 3));
        }
        // Node 1 stands at once, so the load starts soon; every node keeps the same (long) timeouts.
        nodes[0].triggerElection();
        leader = BenchClusters.awaitStableLeader(nodes, this::drive, 30, TimeUnit.SECONDS);
        System.out.println("# settings " + settings + " authentication=" + (keyFile != null ? "on (HMAC-SHA256/128 on every frame)" : "off") +
            " leader=" + leader.nodeId() + " term=" + leader.metrics().term() + " maxMessageLength=" +
            AeronTransportConfig.aeronMaxMessageLength(term) + " ingressRing=16384 applyRing=16384 electionTimeout=500..1000ms heartbeat=20ms " +
            (single ? "threads: 1 (INVOKER nodes and drivers, busy loop)" : "threads: 3 node threads (SHARED, backoff 100/10/1us..100us) + 1 load thread"));
    }

    private RaftLogStorage storage(final long id) throws IOException
    {
        if ("memory".equals(settings.get("log")))
        {
            // Sized for the longest log between two snapshots: the measurement sees no growth.
            return new InMemoryLogStorage(256 * 1024, 256L * 1024 * 72);
        }
        final Path parent = Paths.get(System.getProperty("ringraft.bench.dir", System.getProperty("java.io.tmpdir")));
        final Path dir = Files.createTempDirectory(parent, "aeron-cluster-" + id + "-");
        dataDirs.add(dir);
        return ChronicleLogStorage.open(new ChronicleStorageContext().directory(dir.resolve(BenchClusters.LOG_DIRECTORY))
            .durability(DurabilityPolicy.valueOf(settings.get("durability"))));
    }

    private void run() throws InterruptedException
    {
        final long warmupNanos = TimeUnit.SECONDS.toNanos(Long.parseLong(settings.get("warmup")));
        final long measureNanos = TimeUnit.SECONDS.toNanos(Long.parseLong(settings.get("seconds")));
        System.out.println(Report.header("3-node commit latency over Aeron UDP, log=" + settings.get("log") +
            ("chronicle".equals(settings.get("log")) ? "/" + settings.get("durability") : "") + ", mode=" + settings.get("mode") +
            ", payload=" + PAYLOAD_LENGTH + "B"));
        // JIT warm-up at a middling window before the first measurement.
        window(256, warmupNanos * 2, 0, "warm-up");
        for (final String w : settings.get("windows").split(","))
        {
            window(Integer.parseInt(w.trim()), warmupNanos, measureNanos, "window " + w.trim());
        }
        final RaftMetrics m = leader.metrics();
        System.out.println("# leader after the run: term=" + m.term() + " committed=" + m.committedIndex() + " failures=" + failures.get() +
            " sendsRetried=" + m.sendsRetried() + " sendsDropped=" + m.sendsDropped() + " backPressureEvents=" + m.backPressureEvents());
    }

    /** Keeps {@code window} writes in flight for warm-up then measurement, and prints the measured row. */
    private void window(final int window, final long warmupNanos, final long measureNanos, final String label) throws InterruptedException
    {
        sentAt = new long[Integer.highestOneBit(window) << 1];
        slotMask = sentAt.length - 1;
        final Histogram h = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
        histogram = h;
        measured.set(0);
        final UnsafeBuffer payload = new UnsafeBuffer(new byte[PAYLOAD_LENGTH]);
        final IdleStrategy idle = new BackoffIdleStrategy(100, 10, 1_000, 100_000);
        final long start = System.nanoTime();
        final long measureFrom = start + warmupNanos;
        final long end = measureFrom + measureNanos;
        measureEnd = end;
        long seq = 0;
        long measureStartTime = 0;
        long allocatedAtStart = 0;
        long now;
        while ((now = System.nanoTime()) < end)
        {
            if (firstMeasured == Long.MAX_VALUE && now >= measureFrom && measureNanos > 0)
            {
                firstMeasured = seq;
                measureStartTime = now;
                allocatedAtStart = BenchClusters.threadAllocatedBytes();
            }
            int submitted = 0;
            while (inFlight.get() < window)
            {
                payload.putLong(0, seq);
                sentAt[(int)(seq & slotMask)] = System.nanoTime();
                final int status = leader.clientWrite(payload, 0, PAYLOAD_LENGTH, seq, onResult);
                if (status == WriteStatus.BACK_PRESSURED)
                {
                    break;
                }
                if (status != WriteStatus.OK)
                {
                    throw new IllegalStateException("write refused: " + WriteStatus.name(status));
                }
                inFlight.incrementAndGet();
                seq++;
                submitted++;
            }
            if (single)
            {
                drive();
            }
            else
            {
                idle.idle(submitted);
            }
        }
        lastMeasured = seq;
        final long elapsed = System.nanoTime() - measureStartTime;
        final long allocated = BenchClusters.threadAllocatedBytes() - allocatedAtStart;
        final long drainDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (inFlight.get() > 0)
        {
            if (System.nanoTime() > drainDeadline)
            {
                throw new IllegalStateException(inFlight.get() + " writes without an outcome after 30 s: " + leader.metrics());
            }
            if (single)
            {
                drive();
            }
            else
            {
                Thread.sleep(1);
            }
        }
        if (measureNanos > 0)
        {
            System.out.println(Report.row(label, h, measured.get() * 1e9 / elapsed));
            results.put(label, new double[]{h.getValueAtPercentile(50), h.getValueAtPercentile(99), measured.get() * 1e9 / elapsed});
            if (single)
            {
                // Every node, driver and the load run on this thread: its allocation is the whole path's.
                System.out.printf("#   %s: %.2f bytes allocated per write on the driving thread%n", label,
                    (double)allocated / Math.max(1, lastMeasured - firstMeasured));
            }
        }
        firstMeasured = Long.MAX_VALUE;
        lastMeasured = Long.MAX_VALUE;
    }

    private void onResult(final long seq, final int status, final long index, final long leaderId, final DirectBuffer response,
        final int offset, final int length)
    {
        if (status != WriteStatus.OK)
        {
            failures.incrementAndGet();
        }
        else if (seq >= firstMeasured && seq < lastMeasured)
        {
            final long now = System.nanoTime();
            histogram.recordValue(now - sentAt[(int)(seq & slotMask)]);
            if (now <= measureEnd)
            {
                // Throughput counts what completed within the measured interval.
                measured.incrementAndGet();
            }
        }
        inFlight.decrementAndGet();
    }

    private void drive()
    {
        if (single)
        {
            for (final Raft node : nodes)
            {
                node.doWork();
            }
        }
        else
        {
            LockSupport.parkNanos(1_000_000);
        }
    }

    private void close()
    {
        for (final Raft node : nodes)
        {
            if (node != null)
            {
                node.close();
            }
        }
        for (final Path dir : dataDirs)
        {
            IoUtil.delete(dir.toFile(), true);
        }
    }

}
