package io.ringraft.server;

import io.ringraft.engine.Role;
import io.ringraft.client.ClientException;
import io.ringraft.client.RingraftClient;
import io.ringraft.server.kv.KvClient;
import io.ringraft.server.kv.KvNodeStatus;
import io.ringraft.storage.DurabilityPolicy;
import org.HdrHistogram.Histogram;
import org.agrona.IoUtil;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * {@code ringraft load}: the cluster load generator. Against a running cluster ({@code --config}
 * or {@code --endpoint}) or a cluster it starts on this machine ({@code --nodes}, in-process or
 * {@code --processes}), for each message size and each point — a window in the closed loop, an
 * offered rate in the open loop (latency from each request's intended start: corrected for
 * coordinated omission) — it warms up, measures, and prints the round-trip latency distribution
 * (HdrHistogram, microseconds), optionally saved as {@code .hgrm} files. {@code --client kv} (the
 * default) runs key-value puts (and reads) through {@link KvClient}; {@code --client raw} sends
 * opaque commands through the client library's zero-allocation path to any service
 * ({@code --service} names the one a started cluster hosts).
 */
final class LoadGenerator
{
    private static final int CLUSTER_ID = 4243;

    private LoadGenerator()
    {
    }

    static int run(final String[] args)
    {
        final Args a = Args.parse("load", args, Set.of("config", "endpoint", "mode", "window", "rates", "sizes", "warmup", "duration",
            "nodes", "durability", "hgrm", "timeout", "reads", "keys", "client", "service", "node-setting", "client-driver"), Set.of("processes"));
        a.requirePositional(0, 0, "only flags");
        final String mode = a.get("mode", "closed").toLowerCase(Locale.ROOT);
        final String clientDriver = a.get("client-driver", "invoked").toLowerCase(Locale.ROOT);
        if (!clientDriver.equals("invoked") && !clientDriver.equals("thread"))
        {
            throw new CliException("ringraft load: --client-driver=" + clientDriver + " must be invoked or thread");
        }
        // The client's own embedded driver runs in its polling thread (the default), unless it uses a shared one.
        final boolean invokedDriver = clientDriver.equals("invoked");
        if (!mode.equals("closed") && !mode.equals("open"))
        {
            throw new CliException("ringraft load: --mode=" + mode + " must be closed or open");
        }
        final List<Long> points = mode.equals("open") ? list(a, "rates", null, 1, 10_000_000) : list(a, "window", "32", 1, 65_536);
        final String clientKind = a.get("client", "kv").toLowerCase(Locale.ROOT);
        if (!clientKind.equals("kv") && !clientKind.equals("raw"))
        {
            throw new CliException("ringraft load: --client=" + clientKind + " must be kv or raw");
        }
        final boolean raw = clientKind.equals("raw");
        if (raw && mode.equals("open"))
        {
            throw new CliException("ringraft load: --client raw runs the closed loop only (give --window, not --mode open)");
        }
        if (raw && a.has("keys"))
        {
            throw new CliException("ringraft load: --keys chooses the keys of --client kv's puts; --client raw sends opaque commands");
        }
        final String service = a.get("service", NodeConfig.DEFAULT_SERVICE);
        // Settings of the local cluster's node config files (threading, idle...); NodeConfig checks each.
        final Map<String, String> nodeSettings = new java.util.LinkedHashMap<>();
        nodeSettings.put("service", service);
        for (final String setting : a.all("node-setting"))
        {
            final int eq = setting.indexOf('=');
            if (eq <= 0)
            {
                throw new CliException("ringraft load: --node-setting=" + setting + " must be KEY=VALUE (a node config setting)");
            }
            nodeSettings.put(setting.substring(0, eq).trim(), setting.substring(eq + 1).trim());
        }
        final List<Long> sizes = list(a, "sizes", "64", 8, 32 * 1024);
        final long warmupMs = a.durationMs("warmup", 3_000);
        final long durationMs = a.durationMs("duration", 10_000);
        final long timeoutMs = a.durationMs("timeout", 2_000);
        final int readEvery = (int)a.longValue("reads", 0, 0, 1_000_000);
        // Unique keys (the default): the nodes' state grows with every put. A key space bounds it: puts overwrite.
        final long keySpace = "unique".equalsIgnoreCase(a.get("keys", "unique")) ? 0 : a.longValue("keys", 0, 1, 1L << 40);
        final Path hgrmDir = a.has("hgrm") ? Path.of(a.get("hgrm", ".")) : null;
        final int nodes = (int)a.longValue("nodes", 3, 1, 7);
        final String policy = a.get("durability", "BATCH").toUpperCase(Locale.ROOT);
        final DurabilityPolicy durability;
        try
        {
            durability = DurabilityPolicy.valueOf(policy);
        }
        catch (final IllegalArgumentException ex)
        {
            throw new CliException("ringraft load: --durability=" + policy + " must be NONE, BATCH or ALWAYS");
        }
        final List<String> endpoints = new ArrayList<>();
        int clusterId = 0;
        for (final String file : a.all("config"))
        {
            final NodeConfig config = NodeConfig.loadForClient(Path.of(file));
            config.clientEndpoints().values().stream().filter(e -> !endpoints.contains(e)).forEach(endpoints::add);
            clusterId = config.clusterId();
        }
        for (final String endpoint : a.all("endpoint"))
        {
            NodeConfig.address(endpoint, "--endpoint");
            endpoints.add(endpoint);
        }
        if (hgrmDir != null)
        {
            try
            {
                Files.createDirectories(hgrmDir);
            }
            catch (final IOException ex)
            {
                throw new CliException("ringraft load: --hgrm=" + hgrmDir + " cannot be created (" + ex.getMessage() + ")");
            }
        }
        final PrintStream out = System.out;
        if (!endpoints.isEmpty())
        {
            out.printf("ringraft load: against %s, %s loop, %s client%n", endpoints, mode, clientKind);
            if (raw)
            {
                measureRaw(out, endpoints, clusterId, null, invokedDriver, timeoutMs, points, sizes, warmupMs, durationMs, hgrmDir);
                return 0;
            }
            try (KvClient client = client(endpoints, clusterId, null, invokedDriver, timeoutMs))
            {
                measure(out, client, mode, points, sizes, warmupMs, durationMs, readEvery, keySpace, hgrmDir);
            }
            return 0;
        }
        Path base = null;
        try
        {
            base = Files.createTempDirectory("ringraft-load-");
            out.printf("ringraft load: %d nodes %s on 127.0.0.1 (durability %s, logs in %s), %s loop, %s client, service %s%n", nodes,
                a.has("processes") ? "as processes" : "in-process", durability, base, mode, clientKind, service);
            try (LocalCluster cluster = new LocalCluster(nodes, CLUSTER_ID, base, durability, a.has("processes"), nodeSettings,
                true))
            {
                cluster.startAll();
                final List<String> clusterEndpoints = new ArrayList<>(cluster.clientEndpoints().values());
                if (raw)
                {
                    measureRaw(out, clusterEndpoints, CLUSTER_ID, cluster.sharedAeronDirectory(), invokedDriver, timeoutMs, points, sizes, warmupMs,
                        durationMs, hgrmDir);
                    return 0;
                }
                try (KvClient client = client(clusterEndpoints, CLUSTER_ID, cluster.sharedAeronDirectory(), invokedDriver, timeoutMs))
                {
                    awaitLeader(client, clusterEndpoints);
                    measure(out, client, mode, points, sizes, warmupMs, durationMs, readEvery, keySpace, hgrmDir);
                }
            }
            return 0;
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
        finally
        {
            if (base != null)
            {
                IoUtil.delete(base.toFile(), true);
            }
        }
    }

    private static void measureRaw(final PrintStream out, final List<String> endpoints, final int clusterId, final String aeronDir,
        final boolean invokedDriver, final long timeoutMs, final List<Long> windows, final List<Long> sizes, final long warmupMs, final long durationMs,
        final Path hgrmDir)
    {
        final int maxWindow = (int)(long)windows.stream().mapToLong(Long::longValue).max().orElse(1);
        final RingraftClient client;
        try
        {
            client = RingraftClient.connect(new RingraftClient.Context().endpoints(endpoints).clusterId(clusterId).aeronDirectory(aeronDir)
                .invokedDriver(invokedDriver && aeronDir == null).window(maxWindow).commandTimeout(timeoutMs, TimeUnit.MILLISECONDS)
                .connectTimeout(60, TimeUnit.SECONDS));
        }
        catch (final IllegalArgumentException | ClientException ex)
        {
            throw new CliException(CliException.FAILED, "ringraft load: " + ex.getMessage());
        }
        try (client)
        {
            final RawLoad load = new RawLoad(client, maxWindow);
            for (final long size : sizes)
            {
                for (final long window : windows)
                {
                    final Histogram h = load.run(out, (int)window, (int)size, TimeUnit.MILLISECONDS.toNanos(warmupMs),
                        TimeUnit.MILLISECONDS.toNanos(durationMs));
                    h.outputPercentileDistribution(out, 5, 1000.0);
                    if (hgrmDir != null)
                    {
                        save(h, hgrmDir.resolve("raw_closed_window-" + window + "_size-" + size + "B.hgrm"));
                    }
                }
            }
        }
    }

    private static KvClient client(final List<String> endpoints, final int clusterId, final String aeronDir,
        final boolean invokedDriver, final long timeoutMs)
    {
        try
        {
            return new KvClient(new KvClient.Context().endpoints(endpoints).clusterId(clusterId).aeronDirectory(aeronDir)
                .invokedDriver(invokedDriver && aeronDir == null).timeout(timeoutMs, TimeUnit.MILLISECONDS));
        }
        catch (final IllegalArgumentException ex)
        {
            throw new CliException("ringraft load: " + ex.getMessage());
        }
    }

    private static void awaitLeader(final KvClient client, final List<String> endpoints)
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline)
        {
            for (final String endpoint : endpoints)
            {
                final KvNodeStatus s = client.status(endpoint);
                if (s != null && s.role() == Role.LEADER)
                {
                    return;
                }
            }
        }
        throw new CliException(CliException.FAILED, "ringraft load: no leader elected within 60 s");
    }

    private static void measure(final PrintStream out, final KvClient client, final String mode, final List<Long> points,
        final List<Long> sizes, final long warmupMs, final long durationMs, final int readEvery, final long keySpace, final Path hgrmDir)
    {
        final Workload.Tick idle = now ->
        {
        };
        int run = 0;
        for (final long size : sizes)
        {
            for (final long point : points)
            {
                final Workload w = new Workload(client, "load-" + System.nanoTime() + "-" + run++ + "-", (int)size, readEvery, keySpace);
                final String name = mode.equals("open") ? String.format("open rate=%d/s size=%dB", point, size) :
                    String.format("closed window=%d size=%dB", point, size);
                w.recording(false);
                run(w, mode, point, warmupMs, idle);
                w.recording(true);
                w.resetHistogram();
                final long before = w.completed();
                final long start = System.nanoTime();
                run(w, mode, point, durationMs, idle);
                final double seconds = (System.nanoTime() - start) / 1e9;
                final Histogram h = w.histogram();
                out.printf("%n== %s: %,.0f ops/s answered (%,d ok, %d unknown, %d refused) over %.1f s; round trip p50 %s p99 %s " +
                    "p99.9 %s max %s%n", name, (w.completed() - before) / seconds, w.completed() - before, w.unknown().size(),
                    w.writesFailed(), seconds, Demo.ms(h.getValueAtPercentile(50)), Demo.ms(h.getValueAtPercentile(99)),
                    Demo.ms(h.getValueAtPercentile(99.9)), Demo.ms(h.getMaxValue()));
                if (readEvery > 0)
                {
                    out.printf("   reads: %,d linearizable gets saw the acknowledged put (or a later one of its key), %,d did not%s%n",
                        w.readsOk(), w.staleReads(), w.staleReads() == 0 ? "" : "; first: " + w.firstStaleRead());
                }
                h.outputPercentileDistribution(out, 5, 1000.0);
                if (w.staleReads() > 0)
                {
                    throw new CliException(CliException.FAILED, "ringraft load: " + w.staleReads() + " stale reads at " + name + "; first: " +
                        w.firstStaleRead());
                }
                if (hgrmDir != null)
                {
                    save(h, hgrmDir.resolve(name.replace(' ', '_').replace('/', '_').replace('=', '-') + ".hgrm"));
                }
            }
        }
    }

    private static void run(final Workload w, final String mode, final long point, final long ms, final Workload.Tick tick)
    {
        final long ns = TimeUnit.MILLISECONDS.toNanos(ms);
        if (mode.equals("open"))
        {
            w.openLoop(point, 100_000, ns, tick);
        }
        else
        {
            w.closedLoop((int)point, ns, tick);
        }
    }

    private static void save(final Histogram h, final Path file)
    {
        try (PrintStream ps = new PrintStream(file.toFile(), "UTF-8"))
        {
            h.outputPercentileDistribution(ps, 5, 1000.0);
        }
        catch (final FileNotFoundException | java.io.UnsupportedEncodingException ex)
        {
            throw new CliException(CliException.FAILED, "ringraft load: cannot write " + file + " (" + ex.getMessage() + ")");
        }
    }

    private static List<Long> list(final Args a, final String flag, final String defaultValue, final long min, final long max)
    {
        final String text = a.get(flag, defaultValue);
        if (text == null)
        {
            throw new CliException("ringraft load: --" + flag + " is required in this mode (e.g. --" + flag + " 1000,5000)");
        }
        final List<Long> values = new ArrayList<>();
        for (final String part : text.split(","))
        {
            final long v;
            try
            {
                v = Sizes.parse(part);
            }
            catch (final NumberFormatException ex)
            {
                throw new CliException("ringraft load: --" + flag + "=" + text + ": '" + part + "' is not a number");
            }
            if (v < min || v > max)
            {
                throw new CliException("ringraft load: --" + flag + "=" + text + ": " + v + " must be in " + min + ".." + max);
            }
            values.add(v);
        }
        return values;
    }
}
