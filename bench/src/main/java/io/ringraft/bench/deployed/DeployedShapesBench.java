package io.ringraft.bench.deployed;

import io.ringraft.YieldThenParkIdleStrategy;
import io.ringraft.YieldThenWaitIdleStrategy;
import org.HdrHistogram.Histogram;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.BusySpinIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.YieldingIdleStrategy;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The deployed shapes of issue 17 in one JVM, one shape per run (run it in fresh JVMs, interleaved, and take
 * medians: see bench/README.md and {@code bench/deployed.sh}):
 * <ul>
 * <li>{@code shape=A}: three ringraft nodes, each with its own embedded media driver and a Chronicle log
 * (durability NONE), a small service on the public API beside each node that replies after apply, and the
 * client over Aeron UDP with a media driver of its own;</li>
 * <li>{@code shape=B}: the same nodes, the client calling the leader's {@code clientWrite} in-process;</li>
 * <li>{@code shape=aeron-cluster}: Aeron Cluster in shape A (needs the {@code aeron-cluster} Maven profile).</li>
 * </ul>
 * Closed loop of 64-byte commands with a fixed window in flight, for each window a warm-up then a measurement:
 * throughput, latency from send to reply (HdrHistogram, optionally saved as {@code .hgrm}), the process's
 * CPU (all its threads over wall time, 100 % = one core), the CPU time per command ({@code cpuUsPerOp}, what the
 * shape costs: far less sensitive to other processes on the machine than the throughput) and RSS. After the load: the CPU of the idle cluster
 * (with the client polling as a client does), by thread, and the latency of the first command after that idle time.
 * <p>
 * {@code java -cp benchmarks.jar io.ringraft.bench.deployed.DeployedShapesBench shape=A windows=256,16,1 warmup=5
 * seconds=10 idle=5 hgrm=DIR tag=LABEL} and the shape's own settings ({@code log=chronicle|memory},
 * {@code durability=NONE|BATCH|ALWAYS}, {@code driver=per-node|shared} (with
 * {@code driverIdle=backoff|ytp}, the shared driver thread's idle strategy), {@code invoker=false|true} (the network
 * drives its driver and conductor), {@code layout=threads|composed} (composed: one thread per node, running the node in
 * INVOKER mode, its driver, its Aeron client and the service), {@code nodeIdle=default|ytp|ytw} (the nodes' idle
 * strategy: RaftConfig's backoff, {@code YieldThenParkIdleStrategy}, or, composed only, {@code YieldThenWaitIdleStrategy}
 * waiting on the node's sockets), {@code client=threads|composed} (the
 * client's driver and conductor run in the load thread), {@code replicationWindow=N} (else the node's default),
 * {@code clientIdle=backoff|yield|spin|ytp|ytw} (ytw: shape A, client=composed); for Aeron Cluster {@code driverThreading=SHARED|DEDICATED}),
 * and {@code aeronMtu=N}: Aeron's default MTU for every publication of the process that sets none itself (the
 * {@code aeron.mtu.length} property, 1,408 unless set): Aeron Cluster with the large datagrams ringraft uses on loopback.
 */
public final class DeployedShapesBench implements Shape.Replies
{
    private static final int PAYLOAD_LENGTH = 64;

    private final Map<String, String> settings;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicLong completed = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private volatile Histogram histogram;
    private volatile long firstMeasured = Long.MAX_VALUE;
    private volatile long lastMeasured = Long.MAX_VALUE;
    private volatile long measureEnd;
    private volatile long[] sentAt = new long[2];
    private volatile int slotMask = 1;
    private final UnsafeBuffer payload = new UnsafeBuffer(new byte[PAYLOAD_LENGTH]);
    private final List<String> results = new ArrayList<>();
    private long seq;

    private DeployedShapesBench(final Map<String, String> settings)
    {
        this.settings = settings;
    }

    /**
     * @param args {@code key=value} settings, see the class comment
     * @throws Exception on failure
     */
    public static void main(final String[] args) throws Exception
    {
        run(args);
        // Agent threads of a closed cluster are gone; anything else left (Chronicle's) must not keep the JVM.
        System.exit(0);
    }

    /**
     * Runs one shape and prints its report.
     *
     * @param args {@code key=value} settings, see the class comment
     * @return the {@code RESULT} lines printed
     * @throws Exception on failure
     */
    public static List<String> run(final String[] args) throws Exception
    {
        final Map<String, String> settings = new LinkedHashMap<>();
        settings.put("shape", "A");
        settings.put("windows", "256,16,1");
        settings.put("warmup", "5");
        settings.put("seconds", "10");
        settings.put("idle", "5");
        settings.put("hgrm", "");
        settings.put("tag", "run");
        settings.put("log", "chronicle");
        settings.put("durability", "NONE");
        settings.put("driver", "per-node");
        settings.put("invoker", "false");
        settings.put("layout", "threads");
        settings.put("nodeIdle", "default");
        settings.put("client", "threads");
        settings.put("replicationWindow", "");
        settings.put("driverIdle", "backoff");
        settings.put("clientIdle", "backoff");
        settings.put("driverThreading", "SHARED");
        settings.put("aeronMtu", "");
        for (final String arg : args)
        {
            final String[] kv = arg.split("=", 2);
            if (kv.length != 2 || !settings.containsKey(kv[0]))
            {
                throw new IllegalArgumentException("unknown setting '" + arg + "'; settings: " + settings.keySet());
            }
            settings.put(kv[0], kv[1]);
        }
        if (!settings.get("aeronMtu").isEmpty())
        {
            // Read by Aeron's Configuration when its class loads: before the shape starts any driver.
            System.setProperty("aeron.mtu.length", settings.get("aeronMtu"));
        }
        final DeployedShapesBench bench = new DeployedShapesBench(settings);
        try (Shape shape = shape(settings.get("shape")))
        {
            bench.run(shape);
        }
        return bench.results;
    }

    private void result(final String format, final Object... values)
    {
        final String line = String.format(Locale.ROOT, format, values);
        results.add(line);
        System.out.println(line);
    }

    private static Shape shape(final String name) throws ReflectiveOperationException
    {
        switch (name)
        {
            case "A":
                return new RingraftShape(true);
            case "B":
                return new RingraftShape(false);
            case "aeron-cluster":
                try
                {
                    return (Shape)Class.forName("io.ringraft.bench.aeroncluster.AeronClusterShape").getDeclaredConstructor().newInstance();
                }
                catch (final ClassNotFoundException ex)
                {
                    throw new IllegalArgumentException("shape=aeron-cluster needs the bench built with -Paeron-cluster", ex);
                }
            default:
                throw new IllegalArgumentException("shape=" + name + " must be A, B or aeron-cluster");
        }
    }

    private void run(final Shape shape) throws Exception
    {
        final long startedAt = System.nanoTime();
        shape.start(settings, this);
        final String tag = settings.get("tag");
        final String name = settings.get("shape");
        System.out.printf("# settings %s%n# %s%n# started in %.1f s, threads=%d%n", settings, shape.describe(),
            (System.nanoTime() - startedAt) / 1e9, Thread.activeCount());
        final IdleStrategy idle = clientIdle(settings.get("clientIdle"));
        if (idle instanceof YieldThenWaitIdleStrategy)
        {
            shape.bindClientIdle((YieldThenWaitIdleStrategy)idle);
        }

        final long warmupNanos = TimeUnit.SECONDS.toNanos(Long.parseLong(settings.get("warmup")));
        final long measureNanos = TimeUnit.SECONDS.toNanos(Long.parseLong(settings.get("seconds")));
        for (final String w : settings.get("windows").split(","))
        {
            if (w.isBlank())
            {
                continue;
            }
            final int window = Integer.parseInt(w.trim());
            final Histogram h = new Histogram(TimeUnit.SECONDS.toNanos(60), 3);
            final long[] measured = window(shape, idle, window, warmupNanos, measureNanos, h);
            final double seconds = measured[1] / 1e9;
            final double cpu = 100.0 * (processCpuNanos() - measured[2]) / measured[1];
            result("RESULT shape=%s tag=%s window=%d ops=%.0f p50=%.1f p90=%.1f p99=%.1f p999=%.1f max=%.1f " +
                "cpu=%.0f cpuUsPerOp=%.2f rssMB=%d failures=%d", name, tag, window, measured[0] / seconds, micros(h, 50), micros(h, 90), micros(h, 99),
                micros(h, 99.9), h.getMaxValue() / 1000.0, cpu, cpu * 1e4 / Math.max(1.0, measured[0] / seconds), rssMb(), failures.get());
            writeHgrm(h, (name + "-" + tag + "-w" + window).replace('#', '-'));
        }
        final long idleNanos = TimeUnit.SECONDS.toNanos(Long.parseLong(settings.get("idle")));
        double idleCpu = Double.NaN;
        double wakeMicros = Double.NaN;
        if (idleNanos > 0)
        {
            // After the load, so the JIT is done: the idle cluster as it would sit between bursts.
            final Map<Long, Long> threadCpu0 = threadCpuNanos();
            final long cpu0 = processCpuNanos();
            final long t0 = System.nanoTime();
            // The client stays as a client would: polling for replies, with its idle strategy.
            while (System.nanoTime() - t0 < idleNanos)
            {
                idle.idle(shape.poll());
            }
            idleCpu = 100.0 * (processCpuNanos() - cpu0) / (System.nanoTime() - t0);
            System.out.println("# idle CPU % by thread: " + cpuByThread(threadCpu0, System.nanoTime() - t0));
            // The first command after the idle time: how long the cluster takes to wake.
            final Histogram wake = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
            window(shape, idle, 1, 0, 0, wake);
            wakeMicros = wake.getMaxValue() / 1000.0;
        }
        result("RESULT shape=%s tag=%s idleCpu=%.1f wakeUs=%.1f threads=%d rssMB=%d", name, tag, idleCpu,
            wakeMicros, Thread.activeCount(), rssMb());

        System.out.printf("# after the run: %s%n", shape.describe());
    }

    /**
     * Keeps {@code window} commands in flight for the warm-up then the measured time (or, with no measured time, for
     * {@code count} commands recorded from the first).
     *
     * @return completed in the measured time, its length in ns, the process CPU at its start
     */
    private long[] window(final Shape shape, final IdleStrategy idle, final int window, final long warmupNanos, final long measureNanos,
        final Histogram h) throws InterruptedException
    {
        final long[] slots = new long[Integer.highestOneBit(window) << 1];
        sentAt = slots;
        slotMask = slots.length - 1;
        histogram = h;
        completed.set(0);
        failures.set(0);
        final boolean counted = measureNanos == 0;
        final long start = System.nanoTime();
        final long measureFrom = start + warmupNanos;
        final long end = counted ? Long.MAX_VALUE : measureFrom + measureNanos;
        final long stopAt = counted ? seq + window : Long.MAX_VALUE;
        measureEnd = end;
        if (counted)
        {
            firstMeasured = seq;
        }
        long measureStart = counted ? start : 0;
        long cpuAtStart = counted ? processCpuNanos() : 0;
        long now;
        while ((now = System.nanoTime()) < end && seq < stopAt)
        {
            if (firstMeasured == Long.MAX_VALUE && now >= measureFrom)
            {
                measureStart = now;
                cpuAtStart = processCpuNanos();
                firstMeasured = seq;
            }
            int work = 0;
            while (inFlight.get() < window && seq < stopAt)
            {
                payload.putLong(0, seq);
                slots[(int)(seq & slotMask)] = System.nanoTime();
                if (!shape.offer(payload, PAYLOAD_LENGTH))
                {
                    break;
                }
                inFlight.incrementAndGet();
                seq++;
                work++;
            }
            work += shape.poll();
            idle.idle(work);
        }
        lastMeasured = seq;
        final long elapsed = System.nanoTime() - measureStart;
        final long drainDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (inFlight.get() > 0)
        {
            if (System.nanoTime() > drainDeadline)
            {
                throw new IllegalStateException(inFlight.get() + " commands without a reply after 30 s: " + shape.describe());
            }
            idle.idle(shape.poll());
        }
        final long done = completed.get();
        firstMeasured = Long.MAX_VALUE;
        lastMeasured = Long.MAX_VALUE;
        return new long[] {done, elapsed, cpuAtStart};
    }

    @Override
    public void onReply(final long replySeq, final boolean ok)
    {
        if (!ok)
        {
            failures.incrementAndGet();
        }
        else if (replySeq >= firstMeasured && replySeq < lastMeasured)
        {
            final long now = System.nanoTime();
            histogram.recordValue(now - sentAt[(int)(replySeq & slotMask)]);
            if (now <= measureEnd)
            {
                completed.incrementAndGet();
            }
        }
        inFlight.decrementAndGet();
    }

    private static IdleStrategy clientIdle(final String name)
    {
        switch (name)
        {
            case "backoff":
                // The node's default idle strategy (RaftConfig), for the load thread too.
                return new BackoffIdleStrategy(10, 20, 1_000, 1_000_000);
            case "yield":
                return new YieldingIdleStrategy();
            case "spin":
                return new BusySpinIdleStrategy();
            case "ytp":
                return new YieldThenParkIdleStrategy();
            case "ytw":
                return new YieldThenWaitIdleStrategy();
            default:
                throw new IllegalArgumentException("clientIdle=" + name + " must be backoff, yield, spin, ytp or ytw");
        }
    }

    private void writeHgrm(final Histogram h, final String name) throws IOException
    {
        final String dir = settings.get("hgrm");
        if (dir.isEmpty())
        {
            return;
        }
        final Path path = Path.of(dir, name + ".hgrm");
        Files.createDirectories(path.getParent());
        try (PrintStream out = new PrintStream(Files.newOutputStream(path), false, StandardCharsets.UTF_8))
        {
            h.outputPercentileDistribution(out, 1000.0);
        }
    }

    private static double micros(final Histogram h, final double percentile)
    {
        return h.getValueAtPercentile(percentile) / 1000.0;
    }

    private static Map<Long, Long> threadCpuNanos()
    {
        final Map<Long, Long> cpu = new java.util.HashMap<>();
        final java.lang.management.ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        for (final long id : threads.getAllThreadIds())
        {
            cpu.put(id, threads.getThreadCpuTime(id));
        }
        return cpu;
    }

    /** @return the CPU of each thread that used any since {@code before}, in % of one core, by name, busiest first */
    private static String cpuByThread(final Map<Long, Long> before, final long wallNanos)
    {
        final java.lang.management.ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        final List<String> parts = new ArrayList<>();
        final Map<String, Double> byName = new java.util.TreeMap<>();
        for (final java.lang.management.ThreadInfo info : threads.getThreadInfo(threads.getAllThreadIds()))
        {
            if (info == null)
            {
                continue;
            }
            final long now = threads.getThreadCpuTime(info.getThreadId());
            final long used = now - before.getOrDefault(info.getThreadId(), 0L);
            if (now > 0 && used > 0)
            {
                byName.merge(info.getThreadName(), 100.0 * used / wallNanos, Double::sum);
            }
        }
        byName.entrySet().stream().sorted((a, b) -> Double.compare(b.getValue(), a.getValue()))
            .forEach(e -> parts.add(String.format(Locale.ROOT, "%s=%.1f", e.getKey().replace(' ', '_'), e.getValue())));
        return String.join(" ", parts);
    }

    /** @return the CPU time of every thread of this process so far, in ns */
    static long processCpuNanos()
    {
        return ((com.sun.management.OperatingSystemMXBean)ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    /** @return this process's resident set, in MiB (from /proc/self/status; -1 where there is none) */
    static long rssMb()
    {
        try
        {
            final List<String> lines = Files.readAllLines(Path.of("/proc/self/status"));
            for (final String line : lines)
            {
                if (line.startsWith("VmRSS:"))
                {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
                }
            }
        }
        catch (final IOException | RuntimeException ex)
        {
            return -1;
        }
        return -1;
    }
}
