package io.ringraft.server;

import io.ringraft.engine.Role;
import io.ringraft.server.kv.KvClient;
import io.ringraft.statemachine.KvDigest;
import io.ringraft.server.kv.KvNodeStatus;
import io.ringraft.server.kv.KvProtocol;
import io.ringraft.server.kv.KvResponse;
import io.ringraft.statemachine.KvStateMachine;
import io.ringraft.storage.DurabilityPolicy;
import org.HdrHistogram.Histogram;
import org.agrona.IoUtil;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code ringraft demo}: a cluster on 127.0.0.1 over Aeron UDP with Chronicle logs in a temporary
 * directory, a key-value workload with a live progress line, the leader killed halfway and
 * restarted, a summary, and a verification that every node applied the identical sequence, that
 * every acknowledged write is there (and every write of unknown outcome either is or is not, whole),
 * and that every linearizable read saw the acknowledged value. Exit status 1 if the verification
 * fails. It removes its directories (and the media drivers' under /dev/shm) when it ends.
 */
final class Demo
{
    private static final int CLUSTER_ID = 4242;
    private static final int READ_EVERY = 10;

    private final PrintStream out;
    private final long durationMs;
    private final int payload;
    private final int window;
    private final int nodes;
    private final DurabilityPolicy durability;
    private final boolean processes;
    private final long timeoutMs;
    private final boolean interactive;
    private final long snapshotEvery;

    private final long[] lastSeenLeader = {0, 0};
    private final AtomicLong killedNode = new AtomicLong();
    private volatile long killedAtNs;
    private volatile long stoppedAtNs;
    private volatile long restartedAtNs;
    private volatile String killError;
    private long electedAtNs;
    private long caughtUpAtNs;
    private long commitAtRestart = -1;
    private int leaderChanges;
    private long lastCommit;

    private Demo(final Args a, final PrintStream out)
    {
        this.out = out;
        durationMs = a.durationMs("duration", 10_000);
        payload = (int)a.longValue("payload", 64, 8, 16 * 1024);
        window = (int)a.longValue("window", 32, 1, 4096);
        nodes = (int)a.longValue("nodes", 3, 3, 7);
        final String policy = a.get("durability", "BATCH").toUpperCase(Locale.ROOT);
        try
        {
            durability = DurabilityPolicy.valueOf(policy);
        }
        catch (final IllegalArgumentException ex)
        {
            throw new CliException("ringraft demo: --durability=" + policy + " must be NONE, BATCH or ALWAYS");
        }
        processes = a.has("processes");
        timeoutMs = a.durationMs("timeout", 1_000);
        snapshotEvery = a.longValue("snapshot-every", 100_000, 0, Long.MAX_VALUE);
        interactive = System.console() != null && !a.has("plain");
        if (durationMs < 1_000)
        {
            throw new CliException("ringraft demo: --duration=" + a.get("duration", "") + " must be at least 1s");
        }
    }

    static int run(final String[] args)
    {
        final Args a = Args.parse("demo", args, Set.of("duration", "payload", "window", "nodes", "durability", "timeout",
            "snapshot-every"),
            Set.of("processes", "plain"));
        a.requirePositional(0, 0, "only flags");
        return new Demo(a, System.out).run();
    }

    private int run()
    {
        final Path base;
        try
        {
            base = Files.createTempDirectory("ringraft-demo-");
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
        out.printf("ringraft demo: %d nodes %s on 127.0.0.1 over Aeron UDP, Chronicle logs in %s (durability %s)%n", nodes,
            processes ? "as separate processes" : "in this process", base, durability);
        try (LocalCluster cluster = new LocalCluster(nodes, CLUSTER_ID, base, durability, processes,
            Map.of("snapshot.every", Long.toString(snapshotEvery)), true))
        {
            cluster.startAll();
            final List<String> endpoints = new ArrayList<>(cluster.clientEndpoints().values());
            try (KvClient client = new KvClient(new KvClient.Context().endpoints(endpoints).clusterId(CLUSTER_ID)
                .aeronDirectory(cluster.sharedAeronDirectory()).timeout(timeoutMs, TimeUnit.MILLISECONDS)))
            {
                final long leader = awaitLeader(client, endpoints);
                out.printf("leader: node %d; workload: puts of %d-byte values, every %dth op a linearizable get, window %d, %.1f s%n",
                    leader, payload, READ_EVERY, window, durationMs / 1000.0);
                return workloadAndVerify(cluster, client, endpoints);
            }
        }
        finally
        {
            IoUtil.delete(base.toFile(), true);
        }
    }

    private long awaitLeader(final KvClient client, final List<String> endpoints)
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline)
        {
            for (final String endpoint : endpoints)
            {
                final KvNodeStatus s = client.status(endpoint);
                if (s != null && s.role() == Role.LEADER)
                {
                    lastSeenLeader[0] = s.nodeId();
                    lastSeenLeader[1] = s.term();
                    return s.nodeId();
                }
            }
        }
        throw new CliException(CliException.FAILED, "ringraft demo: no leader elected within 60 s");
    }

    private int workloadAndVerify(final LocalCluster cluster, final KvClient client, final List<String> endpoints)
    {
        final Workload workload = new Workload(client, "demo-", payload, READ_EVERY);
        final long start = System.nanoTime();
        final long durationNs = TimeUnit.MILLISECONDS.toNanos(durationMs);
        final boolean[] statusPending = new boolean[endpoints.size()];
        final long[] lastProgress = {start};
        final long[] lastCompleted = {0};
        final Thread[] killer = new Thread[1];
        workload.closedLoop(window, durationNs, now ->
        {
            pollStatuses(client, endpoints, statusPending, now);
            if (killer[0] == null && now - start >= durationNs / 2 && lastSeenLeader[0] != 0)
            {
                killer[0] = startKiller(cluster, lastSeenLeader[0], now);
            }
            if (now - lastProgress[0] >= 1_000_000_000L)
            {
                final long done = workload.completed();
                final double rate = (done - lastCompleted[0]) * 1e9 / (now - lastProgress[0]);
                lastCompleted[0] = done;
                lastProgress[0] = now;
                progress(now - start, rate, workload.intervalP99AndReset());
            }
        });
        joinKiller(killer[0]);
        final double elapsedS = (System.nanoTime() - start) / 1e9;
        if (interactive)
        {
            out.println();
        }
        summary(workload, elapsedS, start);
        return verify(cluster, client, endpoints, workload) ? 0 : 1;
    }

    private Thread startKiller(final LocalCluster cluster, final long leader, final long now)
    {
        killedNode.set(leader);
        killedAtNs = now;
        final Thread t = new Thread(() ->
        {
            try
            {
                cluster.kill(leader);
                stoppedAtNs = System.nanoTime();
                cluster.start(leader);
                restartedAtNs = System.nanoTime();
            }
            catch (final RuntimeException ex)
            {
                killError = ex.toString();
            }
        }, "ringraft-demo-killer");
        t.start();
        return t;
    }

    private static void joinKiller(final Thread killer)
    {
        if (killer == null)
        {
            return;
        }
        try
        {
            killer.join(TimeUnit.SECONDS.toMillis(90));
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
    }

    private void pollStatuses(final KvClient client, final List<String> endpoints, final boolean[] pending, final long now)
    {
        for (int i = 0; i < endpoints.size(); i++)
        {
            if (pending[i])
            {
                continue;
            }
            final int slot = i;
            pending[i] = true;
            client.submitStatus(endpoints.get(i), s ->
            {
                pending[slot] = false;
                onStatus(s);
            });
        }
    }

    private void onStatus(final KvNodeStatus s)
    {
        if (s == null)
        {
            return;
        }
        final long now = System.nanoTime();
        if (s.role() == Role.LEADER)
        {
            lastCommit = Math.max(lastCommit, s.committedIndex());
            if (s.nodeId() != lastSeenLeader[0] || s.term() != lastSeenLeader[1])
            {
                if (s.term() > lastSeenLeader[1])
                {
                    leaderChanges++;
                    lastSeenLeader[0] = s.nodeId();
                    lastSeenLeader[1] = s.term();
                    if (killedAtNs != 0 && electedAtNs == 0 && s.nodeId() != killedNode.get())
                    {
                        electedAtNs = now;
                    }
                }
            }
        }
        if (restartedAtNs != 0 && s.nodeId() == killedNode.get())
        {
            if (commitAtRestart < 0)
            {
                commitAtRestart = lastCommit;
            }
            else if (caughtUpAtNs == 0 && s.appliedIndex() >= commitAtRestart)
            {
                caughtUpAtNs = now;
            }
        }
    }

    private void progress(final long elapsedNs, final double rate, final long p99Ns)
    {
        String event = "";
        if (killedAtNs != 0 && restartedAtNs == 0)
        {
            event = "  [leader node " + killedNode.get() + " killed]";
        }
        else if (restartedAtNs != 0 && caughtUpAtNs == 0)
        {
            event = "  [node " + killedNode.get() + " restarted, catching up]";
        }
        final String line = String.format("  %5.1fs  %,9.0f ops/s  commit %,10d  p99 %s  leader %d%s", elapsedNs / 1e9, rate, lastCommit,
            ms(p99Ns), lastSeenLeader[0], event);
        if (interactive)
        {
            out.print("\r" + line + "          ");
        }
        else
        {
            out.println(line);
        }
        out.flush();
    }

    private void summary(final Workload w, final double elapsedS, final long start)
    {
        final Histogram h = w.histogram();
        out.println("summary");
        out.printf("  operations   %,d answered: %,d writes acknowledged, %,d linearizable reads; %,d writes of unknown outcome, %,d refused%n",
            w.completed(), w.writesOk(), w.readsOk(), w.unknown().size(), w.writesFailed());
        out.printf("  throughput   %,.0f ops/s over %.1f s (window %d, %d-byte values, durability %s, %s)%n", w.completed() / elapsedS,
            elapsedS, window, payload, durability, processes ? "one process per node" : "in-process");
        if (h.getTotalCount() > 0)
        {
            out.printf("  latency      p50 %s  p90 %s  p99 %s  p99.9 %s  max %s (round trip: client, leader, quorum, apply, client)%n",
                ms(h.getValueAtPercentile(50)), ms(h.getValueAtPercentile(90)), ms(h.getValueAtPercentile(99)),
                ms(h.getValueAtPercentile(99.9)), ms(h.getMaxValue()));
        }
        out.printf("  leaders      %d leader change%s%n", leaderChanges, leaderChanges == 1 ? "" : "s");
        if (killedAtNs != 0)
        {
            out.printf("  failover     leader node %d killed at %.1f s; %s; %s%n", killedNode.get(), (killedAtNs - start) / 1e9,
                electedAtNs == 0 ? "no new leader observed" : String.format("new leader node %d after %.2f s", lastSeenLeader[0],
                (electedAtNs - killedAtNs) / 1e9),
                restartedAtNs == 0 ? "not restarted" + (killError != null ? " (" + killError + ")" : "") :
                String.format("node %d stopped in %.2f s, running again after %.2f s, %s", killedNode.get(),
                (stoppedAtNs - killedAtNs) / 1e9, (restartedAtNs - killedAtNs) / 1e9,
                caughtUpAtNs == 0 ? "catch-up not observed before the end" :
                String.format("caught up (applied index %,d) in %.2f s", commitAtRestart, (caughtUpAtNs - restartedAtNs) / 1e9)));
        }
    }

    private boolean verify(final LocalCluster cluster, final KvClient client, final List<String> endpoints, final Workload w)
    {
        out.println("verify");
        boolean ok = true;
        final List<KvNodeStatus> statuses = awaitConverged(client, endpoints);
        if (statuses == null)
        {
            out.println("  FAIL  the nodes did not converge to one applied index within 30 s");
            return false;
        }
        final KvDigest first = statuses.get(0).digest();
        final boolean same = statuses.stream().allMatch(s -> s.digest().sameStateAs(first));
        out.printf("  %s  every node applied the identical sequence: %,d commands up to index %,d (chain hash %016x)%s%n", same ? "ok  " : "FAIL",
            first.appliedCount(), first.appliedIndex(), first.chainHash(), same ? "" : "; digests: " + statuses);
        ok &= same;

        long expectedContent = 0;
        for (final Map.Entry<String, Long> e : w.acked().entrySet())
        {
            expectedContent += KvStateMachine.entryHash(e.getKey(), w.value(e.getValue()));
        }
        int unknownApplied = 0;
        int unknownAbsent = 0;
        int unknownCorrupt = 0;
        for (final Map.Entry<String, Long> e : w.unknown().entrySet())
        {
            final KvResponse r = client.call(KvProtocol.GET, e.getKey(), null, null, true);
            final byte[] expected = w.value(e.getValue());
            if (r.status() == KvProtocol.OK && Arrays.equals(r.value(), expected))
            {
                unknownApplied++;
                expectedContent += KvStateMachine.entryHash(e.getKey(), expected);
            }
            else if (r.status() == KvProtocol.NOT_FOUND)
            {
                unknownAbsent++;
            }
            else
            {
                unknownCorrupt++;
            }
        }
        final long expectedSize = w.acked().size() + unknownApplied;
        final boolean complete = unknownCorrupt == 0 && first.size() == expectedSize && first.contentHash() == expectedContent;
        out.printf("  %s  all %,d acknowledged writes are on every node, nothing else but %d of the %d writes of unknown outcome " +
            "(%d absent)%s%n", complete ? "ok  " : "FAIL", w.acked().size(), unknownApplied, w.unknown().size(), unknownAbsent,
            complete ? "" : describeMissing(client, w, first, expectedSize, unknownCorrupt));
        ok &= complete;

        final boolean reads = w.staleReads() == 0;
        out.printf("  %s  %,d linearizable reads saw the acknowledged value%s%n", reads ? "ok  " : "FAIL", w.readsOk(),
            reads ? "" : "; " + w.staleReads() + " did not, first: " + w.firstStaleRead());
        ok &= reads;
        final boolean restarted = killedAtNs != 0 && restartedAtNs != 0 && cluster.isRunning(killedNode.get());
        out.printf("  %s  the killed leader was restarted and rejoined%s%n", restarted ? "ok  " : "FAIL",
            killError != null ? ": " + killError : "");
        ok &= restarted;
        out.println(ok ? "PASS" : "FAIL");
        return ok;
    }

    private String describeMissing(final KvClient client, final Workload w, final KvDigest d, final long expectedSize, final int corrupt)
    {
        final StringBuilder sb = new StringBuilder("; nodes hold " + d.size() + " keys, expected " + expectedSize);
        if (corrupt > 0)
        {
            sb.append(", ").append(corrupt).append(" unknown writes read back with another value");
        }
        int shown = 0;
        for (final Map.Entry<String, Long> e : w.acked().entrySet())
        {
            final KvResponse r = client.call(KvProtocol.GET, e.getKey(), null, null, true);
            if (r.status() != KvProtocol.OK || !Arrays.equals(r.value(), w.value(e.getValue())))
            {
                sb.append("; acknowledged ").append(e.getKey()).append(" reads ").append(r);
                if (++shown == 3)
                {
                    break;
                }
            }
        }
        return sb.toString();
    }

    /** @return every node's status once all have applied the same index, at the leader's commit index; null on timeout */
    private static List<KvNodeStatus> awaitConverged(final KvClient client, final List<String> endpoints)
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline)
        {
            final List<KvNodeStatus> statuses = new ArrayList<>();
            long committed = 0;
            for (final String endpoint : endpoints)
            {
                final KvNodeStatus s = client.status(endpoint);
                if (s == null)
                {
                    break;
                }
                statuses.add(s);
                committed = Math.max(committed, s.committedIndex());
            }
            if (statuses.size() == endpoints.size())
            {
                final long c = committed;
                if (statuses.stream().allMatch(s -> s.appliedIndex() == c))
                {
                    return statuses;
                }
            }
            try
            {
                Thread.sleep(50);
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
                return null;
            }
        }
        return null;
    }

    static String ms(final long ns)
    {
        if (ns >= 1_000_000_000L)
        {
            return String.format("%.2f s", ns / 1e9);
        }
        if (ns >= 1_000_000L)
        {
            return String.format("%.2f ms", ns / 1e6);
        }
        return String.format("%.0f µs", ns / 1e3);
    }
}
