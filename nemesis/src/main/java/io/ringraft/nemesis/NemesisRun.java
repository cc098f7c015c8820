package io.ringraft.nemesis;

import io.ringraft.AdminStatus;
import io.ringraft.engine.PlantedBug;
import io.ringraft.client.AdminOutcome;
import io.ringraft.client.AdminProtocol;
import io.ringraft.client.RingraftClient;
import io.ringraft.server.NodeConfig;
import io.ringraft.server.kv.KvNodeStatus;
import io.ringraft.testkit.history.CheckResult;
import io.ringraft.testkit.history.History;
import io.ringraft.testkit.history.LinearizabilityChecker;
import io.ringraft.testkit.history.OpKind;
import io.ringraft.transport.aeron.EmbeddedMediaDriver;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Collectors;

/**
 * One nemesis run: node processes in their own networks, a seeded schedule of faults, clients
 * recording a history, then the checks and the report. See {@link NemesisMain} for the command.
 */
final class NemesisRun
{
    /** Where the nodes run. */
    enum NetworkMode
    {
        /** Namespaces when this process may create them, else loopback (said in one line). */
        AUTO,
        /** Namespaces, or the run fails. */
        NETNS,
        /** Loopback: process faults only. */
        LOOPBACK
    }

    /**
     * What to run.
     *
     * @param nodes             how many nodes
     * @param durationMs        how long the workload runs
     * @param seed              seeds the faults and the operation mix
     * @param faults            the kinds of fault to inject
     * @param clients           logical clients
     * @param keys              hot keys
     * @param thinkMs           pause between a client's operations
     * @param reportDir         where the report goes
     * @param network           where the nodes run
     * @param cutter            how links are cut (null: nft, else tc)
     * @param plantedBug        a bug the nodes run with, to prove that the checks catch it
     * @param electionTimeout   the nodes' election.timeout.ms
     * @param recoveryBoundMs   the longest a heal may take to the next acknowledged write
     * @param clientTimeoutMs   how long a client request may take
     * @param faultMinMs        the shortest fault
     * @param faultMaxMs        the longest fault
     */
    record Options(int nodes, long durationMs, long seed, Set<FaultSchedule.Kind> faults, int clients, int keys, long thinkMs,
        Path reportDir, NetworkMode network, NamespaceLab.Cutter cutter, PlantedBug plantedBug, String electionTimeout,
        long recoveryBoundMs, long clientTimeoutMs, long faultMinMs, long faultMaxMs)
    {
        /** @return the command line that replays this run's schedule */
        String replayCommand()
        {
            return "./ringraft nemesis --nodes " + nodes + " --duration " + durationMs / 1000.0 + "s --seed " + seed + " --faults " +
                faults.stream().map(k -> k.name().toLowerCase(Locale.ROOT)).sorted().collect(Collectors.joining(",")) +
                (faultMinMs == 2_000 && faultMaxMs == 5_000 ? "" : " --fault-length " + faultMinMs / 1000.0 + "-" + faultMaxMs / 1000.0) +
                (plantedBug == PlantedBug.NONE ? "" : " --planted-bug " + plantedBug);
        }
    }

    /**
     * A fault as it happened.
     *
     * @param fault   the scheduled fault
     * @param what    what it did, with the nodes it hit
     * @param startNs when it began (the run's clock)
     * @param healNs  when it was healed (for a kill: when the restart began)
     * @param wholeNs when the cluster was whole again: every node running (a killed node's JVM started and
     *                wrote its pid file), none paused, no link cut; the recovery is measured from here
     * @param notConnectedDuring    sends the nodes dropped as not connected while the fault lasted
     * @param notConnectedAfterHeal sends the nodes dropped as not connected in the two seconds after the heal
     */
    record Window(FaultSchedule.Fault fault, String what, long startNs, long healNs, long wholeNs, long notConnectedDuring,
        long notConnectedAfterHeal)
    {
    }

    /**
     * What a run found.
     *
     * @param passed       true if every check passed
     * @param summary      the one summary line
     * @param checks       one line per check, each starting "ok" or "FAIL" (or "info" for a figure)
     * @param reportDir    where the report is
     * @param recoveriesMs whole again to the next acknowledged write, per fault (-1: none before the next fault or the end)
     * @param violation    the smallest failing window of the history, or null
     */
    record Outcome(boolean passed, String summary, List<String> checks, Path reportDir, List<Long> recoveriesMs, String violation)
    {
    }

    private static final long SETTLE_MS = 6_000;
    private static final String DATA_PREFIX = "ringraft-nemesis-data-";
    private static final String OWNER_FILE = "owner.pid";
    private static final int CLUSTER_ID = 15;

    private final Options options;
    private final PrintStream out;
    private final List<Thread> restarts = new ArrayList<>();
    private final List<String> restartFailures = java.util.Collections.synchronizedList(new ArrayList<>());
    private volatile long lastRestartNs;
    private DelayRelay relay;
    private volatile long replacing;
    private volatile long originNs;
    private final List<String> membershipFailures = java.util.Collections.synchronizedList(new ArrayList<>());
    private long slowDiskNode;
    private final List<String> slowDiskFailures = new ArrayList<>();
    private final List<Long> slowDiskConfirmMs = new ArrayList<>();
    private StatusWatcher watcher;
    private final Map<FaultSchedule.Fault, long[]> electionTerms = new java.util.HashMap<>();
    private List<String> adminEndpoints;
    private String adminAeronDir;

    /** A node's endpoints. */
    private record NodeInfo(String raft, String client)
    {
    }

    /** @return the membership in the leader's status (waiting up to 10 s for the one listing {@code expected} as voters), or why not */
    private String voters(final List<Long> expected)
    {
        final java.util.regex.Pattern pattern = java.util.regex.Pattern.compile("Membership\\{[^}]*\\}");
        String last = "no status";
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        try (RingraftClient admin = adminClient())
        {
            while (System.nanoTime() < deadline)
            {
                final AdminOutcome r = admin.clusterStatus(Duration.ofMillis(2_000));
                if (r.isOk())
                {
                    final java.util.regex.Matcher m = pattern.matcher(r.message());
                    last = m.find() ? m.group() : r.message();
                    if (last.contains("voters=" + expected))
                    {
                        return last;
                    }
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(300));
            }
        }
        return last;
    }

    /**
     * Runs an admin operation until it is done or the deadline passes (a change in progress, an
     * election or a learner still catching up is waited out), each try with a fresh admin client.
     *
     * @return null when done, else the last refusal
     */
    private String admin(final java.util.function.Function<RingraftClient, AdminOutcome> operation, final long deadlineMs)
    {
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(deadlineMs);
        String last = "no answer";
        try (RingraftClient admin = adminClient())
        {
            while (System.nanoTime() < deadline)
            {
                final AdminOutcome r = operation.apply(admin);
                if (r.isOk())
                {
                    return null;
                }
                last = r.statusName() + " " + r.message();
                if (r.status() == AdminStatus.INVALID || r.status() == AdminProtocol.BAD_REQUEST)
                {
                    return last; // asking again changes nothing
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(300));
            }
        }
        return last;
    }

    /** @return a client of the admin operations (no session) to the nodes' client endpoints */
    private RingraftClient adminClient()
    {
        return RingraftClient.connect(new RingraftClient.Context().endpoints(adminEndpoints).clusterId(CLUSTER_ID)
            .aeronDirectory(adminAeronDir).session(false));
    }

    NemesisRun(final Options options, final PrintStream out)
    {
        this.options = options;
        this.out = out;
    }

    /** Runs it: sets up, injects, checks, reports, and removes everything it made. */
    Outcome run()
    {
        try
        {
            Files.createDirectories(options.reportDir());
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("the report directory " + options.reportDir() + " cannot be created", ex);
        }
        final NetworkLab lab = openLab();
        final Set<FaultSchedule.Kind> kinds = EnumSet.noneOf(FaultSchedule.Kind.class);
        kinds.addAll(options.faults());
        if (!lab.canCut() && kinds.remove(FaultSchedule.Kind.PARTITION))
        {
            out.println("nemesis: no partitions on loopback");
        }
        if (!lab.canDropRandomly() && kinds.remove(FaultSchedule.Kind.LOSS))
        {
            out.println("nemesis: no random loss without nft");
        }
        if (!(lab instanceof NamespaceLab && lab.canDropRandomly()) &&
            (kinds.remove(FaultSchedule.Kind.DELAY) | kinds.remove(FaultSchedule.Kind.ELECTION)))
        {
            out.println("nemesis: no delay and no slow election without namespaces and nft (the delay relay is reached by DNAT " +
                "rules in the namespaces)");
        }
        if (kinds.contains(FaultSchedule.Kind.DELAY) || kinds.contains(FaultSchedule.Kind.ELECTION))
        {
            // Before any node starts: a flow that conntrack saw before the DNAT rule would pass the relay by.
            relay = ((NamespaceLab)lab).startRelay(NodeProcesses.RAFT_PORT, options.seed());
        }
        final List<FaultSchedule.Fault> schedule =
            FaultSchedule.generate(options.seed(), options.durationMs(), SETTLE_MS, options.nodes(), kinds, options.faultMinMs(),
                options.faultMaxMs());
        out.println("nemesis: " + lab.describe());
        out.println("nemesis: " + schedule.size() + " faults scheduled from seed " + options.seed() + " over " +
            options.durationMs() / 1000.0 + " s");
        final Path dataRoot;
        try
        {
            removeStaleDataDirectories();
            dataRoot = Files.createTempDirectory(DATA_PREFIX);
            Files.writeString(dataRoot.resolve(OWNER_FILE), Long.toString(ProcessHandle.current().pid()), StandardCharsets.UTF_8);
        }
        catch (final IOException ex)
        {
            lab.close();
            throw new UncheckedIOException(ex);
        }
        final Map<String, String> extra = new LinkedHashMap<>();
        extra.put("election.timeout.ms", options.electionTimeout());
        // Through the relay, peers' packets come from the relay's address: the transport's source address check
        // would drop them (AeronTransportConfig#sourceAddressCheck: off where peers are reached through address translation).
        final List<String> jvmFlags = new ArrayList<>(relay == null ? List.of() : List.of("-Dringraft.aeron.source.check=false"));
        // The transport's settings given to this process (-Dringraft.aeron.*=...) go to every node too, and so do Aeron's own
        // (-Daeron.*=..., read by the nodes' embedded media drivers, e.g. aeron.rcv.status.message.timeout).
        System.getProperties().stringPropertyNames().stream().filter(k -> k.startsWith("ringraft.aeron.") || k.startsWith("aeron.")).sorted()
            .forEach(k -> jvmFlags.add("-D" + k + "=" + System.getProperty(k)));
        if (options.plantedBug() != PlantedBug.NONE)
        {
            extra.put(NodeConfig.PLANTED_BUG, options.plantedBug().name());
        }
        try (lab;
            NodeProcesses nodes = new NodeProcesses(lab, options.nodes(), dataRoot, options.reportDir(), extra, jvmFlags);
            EmbeddedMediaDriver driver = EmbeddedMediaDriver.launch(0, 256 * 1024))
        {
            return inject(lab, nodes, driver.aeronDirectoryName(), schedule);
        }
    }

    /**
     * A run killed with SIGKILL leaves its nodes' data and their media drivers' directories: those of
     * runs whose owner process is gone are removed (the node.pid files name the drivers' directories).
     */
    private void removeStaleDataDirectories() throws IOException
    {
        try (java.util.stream.Stream<Path> dirs = Files.list(Path.of(System.getProperty("java.io.tmpdir"))))
        {
            for (final Path dir : (Iterable<Path>)dirs.filter(d -> d.getFileName().toString().startsWith(DATA_PREFIX))::iterator)
            {
                final Path owner = dir.resolve(OWNER_FILE);
                long pid = -1;
                try
                {
                    pid = Long.parseLong(Files.readString(owner, StandardCharsets.UTF_8).trim());
                }
                catch (final IOException | NumberFormatException ex)
                {
                    // no owner recorded: treated as gone
                }
                if (pid > 0 && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false))
                {
                    continue;
                }
                final List<io.ringraft.server.RingraftNode.PidFile> nodes = new ArrayList<>();
                try (java.util.stream.Stream<Path> nodeDirs = Files.list(dir))
                {
                    for (final Path nodeDir : (Iterable<Path>)nodeDirs::iterator)
                    {
                        final io.ringraft.server.RingraftNode.PidFile node = io.ringraft.server.RingraftNode.readPidFile(nodeDir);
                        if (node != null)
                        {
                            nodes.add(node);
                        }
                    }
                }
                if (nodes.stream().anyMatch(io.ringraft.server.RingraftNode.PidFile::alive))
                {
                    continue; // a node of it still runs: not ours to remove
                }
                for (final io.ringraft.server.RingraftNode.PidFile node : nodes)
                {
                    if (node.aeronDir() != null)
                    {
                        org.agrona.IoUtil.delete(new java.io.File(node.aeronDir()), true);
                    }
                }
                out.println("nemesis: removing the data of an earlier run (" + dir + ")");
                org.agrona.IoUtil.delete(dir.toFile(), true);
            }
        }
    }

    private NetworkLab openLab()
    {
        if (options.network() == NetworkMode.LOOPBACK)
        {
            return new LoopbackLab("asked for");
        }
        try
        {
            return NamespaceLab.create(options.nodes(), options.cutter(), out::println);
        }
        catch (final NamespaceLab.Unavailable ex)
        {
            if (options.network() == NetworkMode.NETNS)
            {
                throw new IllegalStateException(ex.getMessage());
            }
            out.println("nemesis: " + ex.getMessage() + ": falling back to loopback, process faults only");
            return new LoopbackLab(ex.getMessage());
        }
    }

    private Outcome inject(final NetworkLab lab, final NodeProcesses nodes, final String aeronDir,
        final List<FaultSchedule.Fault> schedule)
    {
        final List<String> endpoints = new ArrayList<>(nodes.clientEndpoints().values());
        adminEndpoints = endpoints;
        adminAeronDir = aeronDir;
        for (final long id : nodes.ids())
        {
            nodes.start(id);
        }
        final long originNs = System.nanoTime();
        this.originNs = originNs;
        final List<Window> windows = new ArrayList<>();
        final NemesisWorkload workload = new NemesisWorkload(options.clients(), Math.max(1, Math.min(4, options.clients() / 4)),
            options.keys(), options.thinkMs(), options.seed(), originNs);
        try (StatusWatcher watcher = new StatusWatcher(nodes.clientEndpoints(), CLUSTER_ID, aeronDir, originNs))
        {
            this.watcher = watcher;
            watcher.start();
            if (watcher.awaitLeader(60_000) == 0)
            {
                throw new IllegalStateException("no leader within 60 s of starting the nodes; their output is in " + options.reportDir());
            }
            workload.start(() -> new KvNemesisClient(endpoints, CLUSTER_ID, options.clientTimeoutMs(), aeronDir));
            long wholeMs = 0;
            long previousEndMs = 0;
            for (final FaultSchedule.Fault fault : schedule)
            {
                // A fault begins at its time in the schedule, and never sooner than the recovery bound (and the quiet
                // stretch the schedule drew) after the cluster was whole again: a killed node's JVM may take seconds to
                // start, and faults stacked on a cluster that has not healed would leave the recovery check nothing to judge.
                final long quietMs = previousEndMs == 0 ? 0 : Math.max(fault.atMs() - previousEndMs, options.recoveryBoundMs());
                final long startMs = Math.max(fault.atMs(), wholeMs + quietMs);
                previousEndMs = fault.atMs() + fault.durationMs();
                if (startMs + fault.durationMs() > options.durationMs() - SETTLE_MS)
                {
                    out.println("nemesis: " + (schedule.size() - windows.size()) + " scheduled faults left out: they no longer fit " +
                        "before the quiet end (each fault waits until the cluster was whole again after the one before)");
                    break;
                }
                sleepUntil(originNs, startMs, nodes);
                final Map<Long, TransportProbe.Sample> atStart = TransportProbe.sample(nodes.dataDirs());
                final long start = System.nanoTime() - originNs;
                final String what = begin(fault, lab, nodes, watcher.leader());
                out.printf(Locale.ROOT, "  %6.1f s  %s%n", start / 1e9, what);
                sleepUntil(originNs, startMs + fault.durationMs(), nodes);
                final long heal = System.nanoTime() - originNs;
                final Map<Long, TransportProbe.Sample> beforeHeal = TransportProbe.sample(nodes.dataDirs());
                end(fault, what, lab, nodes);
                final Map<Long, TransportProbe.Sample> atHeal = TransportProbe.sample(nodes.dataDirs());
                final long whole = awaitRestarts(originNs, nodes);
                wholeMs = TimeUnit.NANOSECONDS.toMillis(Math.max(heal, whole));
                sleepUntil(originNs, TimeUnit.NANOSECONDS.toMillis(heal) + 2_000, nodes);
                final long notConnected = TransportProbe.growth(atHeal, TransportProbe.sample(nodes.dataDirs()));
                windows.add(new Window(fault, what, start, heal, Math.max(heal, whole), TransportProbe.growth(atStart, beforeHeal),
                    notConnected));
            }
            sleepUntil(originNs, options.durationMs(), nodes);
            workload.stopAndJoin();
            for (final Thread restart : restarts)
            {
                restart.join(120_000);
            }
            if (!restartFailures.isEmpty())
            {
                throw new IllegalStateException("a killed node could not be restarted: " + restartFailures.get(0));
            }
            nodes.checkForCrashes((System.nanoTime() - originNs) / 1e9);
            final List<NemesisWorkload.Op> ops = new ArrayList<>(workload.operations());
            try (KvNemesisClient finalClient = new KvNemesisClient(endpoints, CLUSTER_ID, 10_000, aeronDir))
            {
                ops.addAll(workload.finalReads(finalClient));
            }
            final String replicas = awaitIdenticalReplicas(nodes.clientEndpoints(), aeronDir);
            final long endNs = System.nanoTime() - originNs;
            final List<String> closed = new ArrayList<>(workload.sessionsClosed());
            watcher.sessionsClosed().forEach(t -> closed.add(t + " (status watcher)"));
            return check(ops, windows, watcher.changes(), nodes.crashes(), replicas, endNs, lab, closed);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", ex);
        }
        finally
        {
            // On the way out after a failure too: the clients stop before the media driver they use closes.
            workload.stop();
        }
    }

    private String begin(final FaultSchedule.Fault fault, final NetworkLab lab, final NodeProcesses nodes, final long leader)
    {
        final List<Long> ids = nodes.ids();
        switch (fault.kind())
        {
            case KILL:
            {
                final long target = FaultSchedule.target(fault, ids, leader);
                nodes.kill(target);
                return "kill -9 node " + target + (target == leader ? " (leader)" : "");
            }
            case PAUSE:
            {
                final long target = FaultSchedule.target(fault, ids, leader);
                nodes.pause(target);
                return "SIGSTOP node " + target + (target == leader ? " (leader)" : "");
            }
            case PARTITION:
            {
                final Set<List<Long>> cuts = FaultSchedule.cuts(fault, ids, leader);
                lab.apply(cuts, 0);
                return "partition " + fault.shape() + " " + describeCuts(cuts) + (leader != 0 ? " (leader " + leader + ")" : "");
            }
            case DELAY:
                relay.impair(FaultSchedule.DELAY);
                return FaultSchedule.DELAY + " between all nodes";
            case ELECTION:
            {
                relay.impair(FaultSchedule.SLOW_LOSSY);
                final long target = FaultSchedule.target(fault, ids, leader);
                electionTerms.put(fault, new long[]{watcher.maxTerm(), 0});
                nodes.kill(target);
                return FaultSchedule.SLOW_LOSSY + " between all nodes, then kill -9 node " + target + (target == leader ? " (leader)" : "");
            }
            case SLOW_DISK:
            {
                final long target = FaultSchedule.target(fault, ids, leader);
                final long ms = FaultSchedule.slowDiskMs(fault);
                slowDiskNode = target;
                final String what = "slow disk on node " + target + (target == leader ? " (leader)" : "") + ": " + ms +
                    " ms before every log sync";
                return what + confirmSyncDelay(nodes, target, ms, what);
            }
            case MEMBERSHIP:
            {
                final long target = FaultSchedule.target(fault, ids, leader);
                final String removed = admin(a -> a.remove(target, Duration.ofMillis(5_000)), 15_000);
                if (removed != null)
                {
                    return "replace node " + target + ": not removed (" + removed + "), nothing else done";
                }
                nodes.kill(target);
                nodes.replaceDisk(target);
                replacing = target;
                return "replace node " + target + (target == leader ? " (leader)" : "") + ": removed, killed, disk emptied";
            }
            default:
                lab.apply(Set.of(), FaultSchedule.LOSS_PERCENT);
                return "loss " + FaultSchedule.LOSS_PERCENT + "% between all nodes";
        }
    }

    /**
     * Sets a node's sync delay and waits up to 3 s for the node to say it applied it; a node that does not is a
     * failed check (the slow disk was not what the schedule says).
     *
     * @return what to add to the fault's description
     */
    private String confirmSyncDelay(final NodeProcesses nodes, final long id, final long ms, final String what)
    {
        final long took = nodes.syncDelay(id, ms, 3_000);
        if (took < 0)
        {
            slowDiskFailures.add(String.format(Locale.ROOT, "%s at %.1f s: node %d did not confirm a sync delay of %d ms within 3 s",
                what, (System.nanoTime() - originNs) / 1e9, id, ms));
            return " (NOT confirmed by the node)";
        }
        slowDiskConfirmMs.add(took);
        return " (applied in " + took + " ms)";
    }

    /**
     * Waits until every restart begun so far finished (the node's JVM runs and wrote its pid file).
     *
     * @return when the last one finished (the run's clock), or 0 if none was pending
     */
    private long awaitRestarts(final long originNs, final NodeProcesses nodes) throws InterruptedException
    {
        for (final Thread restart : restarts)
        {
            while (restart.isAlive())
            {
                restart.join(50);
                nodes.checkForCrashes((System.nanoTime() - originNs) / 1e9);
            }
        }
        if (!restartFailures.isEmpty())
        {
            throw new IllegalStateException("a killed node could not be restarted: " + restartFailures.get(0));
        }
        final long last = lastRestartNs;
        return last == 0 ? 0 : last - originNs;
    }

    private void end(final FaultSchedule.Fault fault, final String what, final NetworkLab lab, final NodeProcesses nodes)
    {
        switch (fault.kind())
        {
            case ELECTION:
                electionTerms.get(fault)[1] = watcher.maxTerm();
                relay.impair(DelayRelay.Impairment.NONE);
                // and restart the killed node:
            case KILL:
                for (final long id : nodes.ids())
                {
                    if (!nodes.isRunning(id))
                    {
                        // A JVM takes seconds to start on a loaded machine: the schedule goes on meanwhile.
                        final Thread restart = new Thread(() ->
                        {
                            nodes.start(id);
                            synchronized (restarts)
                            {
                                lastRestartNs = Math.max(lastRestartNs, System.nanoTime());
                            }
                        }, "nemesis-restart-" + id);
                        restart.setUncaughtExceptionHandler((t, ex) -> restartFailures.add("node " + id + ": " + ex.getMessage()));
                        restarts.add(restart);
                        restart.start();
                    }
                }
                break;
            case PAUSE:
                for (final long id : nodes.ids())
                {
                    nodes.resume(id);
                }
                break;
            case DELAY:
                relay.impair(DelayRelay.Impairment.NONE);
                break;
            case SLOW_DISK:
                confirmSyncDelay(nodes, slowDiskNode, 0, what + ", healed");
                slowDiskNode = 0;
                break;
            case MEMBERSHIP:
            {
                final long id = replacing;
                replacing = 0;
                if (id == 0)
                {
                    break;
                }
                // Like a restart, in the background: the next fault waits until it was added and promoted.
                final NodeInfo info = new NodeInfo(nodes.raftEndpoint(id), nodes.clientEndpoints().get(id));
                // A replacement that does not complete is a finding, not the end of the run: it is reported as a failed
                // check, and the run goes on with the node as it is.
                final long healedAtNs = System.nanoTime();
                final Thread join = new Thread(() ->
                {
                    nodes.start(id);
                    final String added = admin(a -> a.addLearner(id, info.raft(), info.client(), Duration.ofMillis(10_000)), 60_000);
                    final String promoted = added != null ? null : admin(a -> a.promote(id, true, Duration.ofMillis(10_000)), 90_000);
                    if (added == null)
                    {
                        nodes.joined(id);
                    }
                    if (added != null || promoted != null)
                    {
                        membershipFailures.add(String.format(Locale.ROOT, "node %d (healed at %.1f s) was not %s: %s [then %s]", id,
                            (healedAtNs - originNs) / 1e9, added != null ? "added back as a learner" : "promoted back to voter",
                            added != null ? added : promoted, logPositions(nodes)));
                    }
                    else
                    {
                        // The replacement must leave the voters it found: every node.
                        final String membership = voters(nodes.ids());
                        out.printf(Locale.ROOT, "  %6.1f s  node %d added back and promoted: %s%n", (System.nanoTime() - originNs) / 1e9,
                            id, membership);
                        if (!membership.contains("voters=" + nodes.ids()))
                        {
                            membershipFailures.add(String.format(Locale.ROOT, "after node %d (healed at %.1f s) was added back and " +
                                "promoted the membership is %s, not voters=%s", id, (healedAtNs - originNs) / 1e9, membership, nodes.ids()));
                        }
                    }
                    synchronized (restarts)
                    {
                        lastRestartNs = Math.max(lastRestartNs, System.nanoTime());
                    }
                }, "nemesis-join-" + id);
                join.setUncaughtExceptionHandler((t, ex) -> restartFailures.add(ex.getMessage()));
                restarts.add(join);
                join.start();
                break;
            }
            default:
                lab.apply(Set.of(), 0);
                break;
        }
    }

    /** @return every node's log positions from its counters file (role, last log, snapshot, purged, committed, applied) */
    private static String logPositions(final NodeProcesses nodes)
    {
        final List<String> all = new ArrayList<>();
        final String[] names = {"role", "last log index", "snapshot index", "purged index", "committed index", "applied index"};
        nodes.dataDirs().forEach((id, dir) ->
        {
            try
            {
                final Map<String, Long> counters = io.ringraft.runtime.RaftCounters.readFile(
                    dir.resolve(io.ringraft.server.RingraftNode.COUNTERS_FILE));
                final StringBuilder one = new StringBuilder("node " + id + ":");
                for (final String name : names)
                {
                    counters.forEach((label, value) ->
                    {
                        if (label.endsWith(" " + name))
                        {
                            one.append(' ').append(name.replace(" index", "")).append(' ').append(value);
                        }
                    });
                }
                all.add(one.toString());
            }
            catch (final RuntimeException ex)
            {
                all.add("node " + id + ": no counters (" + ex.getMessage() + ")");
            }
        });
        return String.join("; ", all);
    }

    static String describeCuts(final Set<List<Long>> cuts)
    {
        final Set<String> lines = new TreeSet<>();
        for (final List<Long> cut : cuts)
        {
            final boolean both = cuts.contains(List.of(cut.get(1), cut.get(0)));
            if (both && cut.get(0) < cut.get(1))
            {
                lines.add(cut.get(0) + "-x-" + cut.get(1));
            }
            else if (!both)
            {
                lines.add(cut.get(0) + "-x->" + cut.get(1));
            }
        }
        return String.join(" ", lines);
    }

    private void sleepUntil(final long originNs, final long atMs, final NodeProcesses nodes)
    {
        final long deadline = originNs + TimeUnit.MILLISECONDS.toNanos(atMs);
        while (System.nanoTime() < deadline)
        {
            nodes.checkForCrashes((System.nanoTime() - originNs) / 1e9);
            LockSupport.parkNanos(Math.min(deadline - System.nanoTime(), TimeUnit.MILLISECONDS.toNanos(50)));
        }
    }

    /** Waits until every node applied the same sequence to the same index; @return null if they did, else what differs. */
    private String awaitIdenticalReplicas(final Map<Long, String> endpoints, final String aeronDir)
    {
        final StatusWatcher probe = new StatusWatcher(endpoints, CLUSTER_ID, aeronDir, System.nanoTime());
        try
        {
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            String differs = "no answers";
            while (System.nanoTime() < deadline)
            {
                final Map<Long, KvNodeStatus> round = probe.poll();
                differs = compare(round);
                if (differs == null)
                {
                    return null;
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(200));
            }
            return differs;
        }
        finally
        {
            probe.close();
        }
    }

    static String compare(final Map<Long, KvNodeStatus> round)
    {
        KvNodeStatus first = null;
        final StringBuilder all = new StringBuilder();
        boolean same = true;
        for (final Map.Entry<Long, KvNodeStatus> e : round.entrySet())
        {
            final KvNodeStatus s = e.getValue();
            if (s == null)
            {
                return "node " + e.getKey() + " does not answer";
            }
            all.append(String.format(Locale.ROOT, " node %d applied %d (%d commands, chain %016x, %d keys)", s.nodeId(),
                s.digest().appliedIndex(), s.digest().appliedCount(), s.digest().chainHash(), s.digest().size()));
            if (first == null)
            {
                first = s;
            }
            else if (s.digest().appliedIndex() != first.digest().appliedIndex() || !s.digest().sameStateAs(first.digest()))
            {
                same = false;
            }
        }
        return same ? null : all.toString().trim();
    }

    private Outcome check(final List<NemesisWorkload.Op> ops, final List<Window> windows, final List<StatusWatcher.LeaderChange> leaders,
        final List<String> crashes, final String replicas, final long endNs, final NetworkLab lab, final List<String> sessionsClosed)
    {
        final History history = new History();
        final List<NemesisWorkload.Op> sorted = new ArrayList<>(ops);
        sorted.sort(Comparator.comparingLong(NemesisWorkload.Op::invokeNs));
        final int[] ids = new int[sorted.size()];
        for (int i = 0; i < sorted.size(); i++)
        {
            final NemesisWorkload.Op op = sorted.get(i);
            ids[i] = history.invoke(op.client(), op.kind(), op.key(), op.value(), op.expected(), op.invokeNs());
        }
        long ok = 0;
        long failed = 0;
        long unknown = 0;
        for (int i = 0; i < sorted.size(); i++)
        {
            final NemesisWorkload.Op op = sorted.get(i);
            switch (op.result().outcome())
            {
                case OK:
                    history.ok(ids[i], op.kind() == OpKind.PUT ? null : op.result().value(), op.completeNs());
                    ok++;
                    break;
                case FAIL:
                    history.fail(ids[i], op.completeNs());
                    failed++;
                    break;
                default:
                    history.unknown(ids[i]);
                    unknown++;
                    break;
            }
        }
        final CheckResult linear = LinearizabilityChecker.check(history, 20_000_000L);

        final long[] acks = sorted.stream().filter(op -> op.isWrite() && op.result().outcome() == NemesisClient.Outcome.OK)
            .mapToLong(NemesisWorkload.Op::completeNs).sorted().toArray();
        final List<Long> recoveries = new ArrayList<>();
        final List<Long> healToAck = new ArrayList<>();
        final List<Long> restartsMs = new ArrayList<>();
        for (int i = 0; i < windows.size(); i++)
        {
            final Window w = windows.get(i);
            final long limit = i + 1 < windows.size() ? windows.get(i + 1).startNs() : endNs;
            final long first = firstAtOrAfter(acks, w.wholeNs());
            recoveries.add(first < 0 || first >= limit ? -1 : TimeUnit.NANOSECONDS.toMillis(first - w.wholeNs()));
            final long afterHeal = firstAtOrAfter(acks, w.healNs());
            healToAck.add(afterHeal < 0 ? -1 : TimeUnit.NANOSECONDS.toMillis(afterHeal - w.healNs()));
            if (w.fault().kind() == FaultSchedule.Kind.KILL || w.fault().kind() == FaultSchedule.Kind.ELECTION)
            {
                restartsMs.add(TimeUnit.NANOSECONDS.toMillis(w.wholeNs() - w.healNs()));
            }
        }
        final List<Long> gaps = new ArrayList<>();
        for (int i = 0; i < windows.size(); i++)
        {
            final long from = windows.get(i).startNs();
            final long to = i + 1 < windows.size() ? windows.get(i + 1).startNs() : endNs;
            gaps.add(TimeUnit.NANOSECONDS.toMillis(longestGap(acks, from, to)));
        }
        final List<Long> known = recoveries.stream().filter(r -> r >= 0).sorted().collect(Collectors.toList());
        final String[] bounds = options.electionTimeout().split("-");
        final long twoElections = 2 * (bounds.length > 1 ? Long.parseLong(bounds[1].trim()) : 2 * Long.parseLong(bounds[0].trim()));
        final long withinTwo = recoveries.stream().filter(r -> r >= 0 && r <= twoElections).count();
        final long unrecovered = recoveries.stream().filter(r -> r < 0 || r > options.recoveryBoundMs()).count();

        final List<String> checks = new ArrayList<>();
        checks.add((linear.isLinearizable() ? "ok    " : "FAIL  ") + "history of " + sorted.size() + " ops (final reads of every key included) " +
            (linear.isLinearizable() ? "is linearizable: no acknowledged write lost, no stale read" : linear.outcome()));
        checks.add((replicas == null ? "ok    every node applied the identical sequence" : "FAIL  replicas differ after 30 s: " + replicas));
        checks.add((unrecovered == 0 ? "ok    " : "FAIL  ") + "an acknowledged write within " + options.recoveryBoundMs() +
            " ms of the cluster being whole again after every fault: " +
            (known.isEmpty() ? "no heals" : "p50 " + known.get(known.size() / 2) + " ms, max " + known.get(known.size() - 1) + " ms, " +
            withinTwo + " of " + recoveries.size() + " within two election timeouts (" + twoElections + " ms)") +
            (unrecovered == 0 ? "" : "; " + unrecovered + " of " + recoveries.size() + " not (faults.txt: recovery_ms none or above the bound)"));
        checks.add(crashes.isEmpty() ? "ok    no node exited but by the nemesis" : "FAIL  " + String.join("; ", crashes));
        final long replacements = windows.stream().filter(w -> w.fault().kind() == FaultSchedule.Kind.MEMBERSHIP).count();
        final List<String> joinFailures = new ArrayList<>(membershipFailures);
        if (replacements > 0)
        {
            checks.add(joinFailures.isEmpty() ? "ok    every replaced member (" + replacements + ") was added back and promoted to voter" :
                "FAIL  " + String.join("; ", joinFailures));
        }
        final long slowDisks = windows.stream().filter(w -> w.fault().kind() == FaultSchedule.Kind.SLOW_DISK).count();
        if (slowDisks > 0)
        {
            checks.add(slowDiskFailures.isEmpty() ? "ok    every slow disk (" + slowDisks + ") was applied and removed by its node " +
                "(its output confirmed each change, max " + slowDiskConfirmMs.stream().mapToLong(Long::longValue).max().orElse(0) + " ms)" :
                "FAIL  " + String.join("; ", slowDiskFailures));
        }
        final boolean passed = linear.isLinearizable() && replicas == null && unrecovered == 0 && crashes.isEmpty() &&
            joinFailures.isEmpty() && slowDiskFailures.isEmpty();
        final long leaderChanges = leaders.stream().filter(c -> c.leader() != 0).count();
        final String summary = String.format(Locale.ROOT,
            "nemesis: %d nodes, %.0f s, seed %d: %,d ops (ok %,d, fail %,d, unknown %,d), %d faults, %d leader changes; %s",
            options.nodes(), options.durationMs() / 1000.0, options.seed(), sorted.size(), ok, failed, unknown, windows.size(),
            leaderChanges, passed ? "PASS" : "FAIL");
        String violation = null;
        if (!linear.isLinearizable())
        {
            violation = linear + System.lineSeparator() + "replay the schedule: " + options.replayCommand();
        }
        final List<Long> healDrops = windows.stream().filter(w -> w.fault().kind() == FaultSchedule.Kind.PARTITION)
            .map(Window::notConnectedAfterHeal).sorted().collect(Collectors.toList());
        if (!healDrops.isEmpty())
        {
            checks.add("info  sends dropped as not connected in the 2 s after a partition heals (all nodes): p50 " +
                healDrops.get(healDrops.size() / 2) + ", max " + healDrops.get(healDrops.size() - 1));
        }
        final List<Long> oneWay = windows.stream().filter(w -> w.fault().shape().equals("one-way"))
            .map(Window::notConnectedDuring).sorted().collect(Collectors.toList());
        if (!oneWay.isEmpty())
        {
            checks.add("info  sends dropped as not connected during a one-way cut (the cut-off node's peers stop sending to it too " +
                "once its status messages are lost): p50 " + oneWay.get(oneWay.size() / 2) + ", max " + oneWay.get(oneWay.size() - 1));
        }
        final List<Long> sortedHealToAck = healToAck.stream().filter(r -> r >= 0).sorted().collect(Collectors.toList());
        if (!sortedHealToAck.isEmpty())
        {
            checks.add("info  heal to the next acknowledged write (a kill heals when its restart begins): p50 " +
                sortedHealToAck.get(sortedHealToAck.size() / 2) + " ms, p99 " + sortedHealToAck.get(sortedHealToAck.size() * 99 / 100) +
                " ms, max " + sortedHealToAck.get(sortedHealToAck.size() - 1) + " ms");
        }
        final List<Long> sortedRestarts = restartsMs.stream().sorted().collect(Collectors.toList());
        if (!sortedRestarts.isEmpty())
        {
            checks.add("info  a killed node's restart (JVM start to its pid file): p50 " + sortedRestarts.get(sortedRestarts.size() / 2) +
                " ms, max " + sortedRestarts.get(sortedRestarts.size() - 1) + " ms");
        }
        final List<String> elections = new ArrayList<>();
        for (final Window w : windows)
        {
            final long[] terms = electionTerms.get(w.fault());
            if (terms == null)
            {
                continue;
            }
            // The last change of leader in the window, if it left a leader that held to the heal: the stable leader.
            StatusWatcher.LeaderChange last = null;
            for (final StatusWatcher.LeaderChange c : leaders)
            {
                if (c.atNs() >= w.startNs() && c.atNs() <= w.healNs())
                {
                    last = c;
                }
            }
            final long acked = java.util.Arrays.stream(acks).filter(t -> t >= w.startNs() && t < w.healNs()).count();
            elections.add(String.format(Locale.ROOT, "terms %d -> %d, %s, %d writes acknowledged", terms[0], terms[1],
                last == null || last.leader() == 0 ? "no stable leader" :
                "stable leader " + last.leader() + " after " + TimeUnit.NANOSECONDS.toMillis(last.atNs() - w.startNs()) + " ms", acked));
        }
        if (!elections.isEmpty())
        {
            checks.add("info  slow election (" + FaultSchedule.SLOW_LOSSY + ", the leader killed, " +
                FaultSchedule.ELECTION_WINDOW_MS / 1000 + " s): " + String.join("; ", elections));
        }
        final List<String> slowDiskLatency = new ArrayList<>();
        for (final Window w : windows)
        {
            if (w.fault().kind() == FaultSchedule.Kind.SLOW_DISK)
            {
                final long[] inside = sorted.stream().filter(op -> op.isWrite() && op.result().outcome() == NemesisClient.Outcome.OK &&
                    op.invokeNs() >= w.startNs() && op.completeNs() <= w.healNs()).mapToLong(op -> op.completeNs() - op.invokeNs()).sorted()
                    .toArray();
                slowDiskLatency.add(w.what().replaceFirst(" \\(applied in .*", "").replace("slow disk on ", "") + ": " +
                    (inside.length == 0 ? "none acknowledged" : "p50 " + TimeUnit.NANOSECONDS.toMillis(inside[inside.length / 2]) + " ms"));
            }
        }
        if (!slowDiskLatency.isEmpty())
        {
            final long[] all = sorted.stream().filter(op -> op.isWrite() && op.result().outcome() == NemesisClient.Outcome.OK)
                .mapToLong(op -> op.completeNs() - op.invokeNs()).sorted().toArray();
            checks.add("info  acknowledged writes' latency during each slow disk (whole run p50 " +
                (all.length == 0 ? "-" : TimeUnit.NANOSECONDS.toMillis(all[all.length / 2]) + " ms") + "): " +
                String.join("; ", slowDiskLatency));
        }
        if (!sessionsClosed.isEmpty())
        {
            checks.add("info  client sessions found closed in the cluster (expired; the client was replaced by a new one): " +
                sessionsClosed.size() + ", at " + String.join(", ", sessionsClosed));
        }
        if (relay != null)
        {
            final DelayRelay.Counts c = relay.counts();
            checks.add(String.format(Locale.ROOT, "info  delay relay: %,d packets between nodes relayed, %,d held (%,d overtook an " +
                "earlier one), %,d duplicated, %,d dropped", c.relayed(), c.delayed(), c.reordered(), c.duplicated(), c.dropped()));
        }
        final List<Long> sortedGaps = gaps.stream().sorted().collect(Collectors.toList());
        if (!sortedGaps.isEmpty())
        {
            checks.add("info  longest stretch without an acknowledged write per fault (from its start to the next): p50 " +
                sortedGaps.get(sortedGaps.size() / 2) + " ms, max " + sortedGaps.get(sortedGaps.size() - 1) + " ms");
        }
        Report.write(options, lab.describe(), summary, checks, sorted, windows, leaders, recoveries, healToAck, gaps, history, linear, endNs);
        return new Outcome(passed, summary, checks, options.reportDir(), recoveries, violation);
    }

    /** @return the first of the acknowledgement times (in order) at or after {@code from}, or -1 */
    static long firstAtOrAfter(final long[] acks, final long from)
    {
        int i = java.util.Arrays.binarySearch(acks, from);
        if (i < 0)
        {
            i = -i - 1;
        }
        else
        {
            while (i > 0 && acks[i - 1] == from)
            {
                i--;
            }
        }
        return i < acks.length ? acks[i] : -1;
    }

    /** @return the longest time in {@code [from, to)} with no acknowledgement, given acknowledgement times in order */
    static long longestGap(final long[] acks, final long from, final long to)
    {
        long previous = from;
        long longest = 0;
        for (final long t : acks)
        {
            if (t < from)
            {
                continue;
            }
            if (t >= to)
            {
                break;
            }
            longest = Math.max(longest, t - previous);
            previous = t;
        }
        return Math.max(longest, to - previous);
    }

    /** Writes a text file, UTF-8. */
    static void writeText(final Path file, final String text)
    {
        try
        {
            Files.writeString(file, text, StandardCharsets.UTF_8);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot write " + file, ex);
        }
    }
}
