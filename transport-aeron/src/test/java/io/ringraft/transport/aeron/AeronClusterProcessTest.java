package io.ringraft.transport.aeron;

import org.agrona.IoUtil;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Three Raft nodes in three JVMs over Aeron UDP on 127.0.0.1, each with its own embedded media
 * driver, a Chronicle log (durability BATCH) and a file snapshot store: a leader is elected, takes
 * 100,000 pipelined writes, is killed with SIGKILL in the middle of more; a new leader is elected
 * and takes writes; the killed node restarts on its data directory while writes go on and catches
 * up: its log reopens with everything it acknowledged (tail recovery after SIGKILL), and since the
 * leader purged its log behind a snapshot meanwhile, it catches up through InstallSnapshot. At the end
 * every node has applied the same sequence, which holds every acknowledged write at its acknowledged
 * index, no refused or aborted write, nothing that was never submitted, and nothing twice.
 * <p>
 * A second scenario pauses the leader with SIGSTOP under load instead: the others elect a leader and
 * write on; resumed, the old leader answers every write it had accepted (OK for those its successor
 * committed, ABORTED for those it overwrote, NOT_LEADER), and the same end-state checks hold.
 * <p>
 * Each child's output is kept in {@code node-<id>-<incarnation>.out} in the temporary directory
 * and printed on failure.
 */
class AeronClusterProcessTest
{
    private static final int CLUSTER = 0x5241;
    private static final int WINDOW = 1024;
    private static final long SNAPSHOT_EVERY = 20_000;
    private static final Duration STEP_TIMEOUT = Duration.ofSeconds(30);
    /** Outcomes that prove a write was never committed. */
    private static final Set<String> NOT_WRITTEN = Set.of("NOT_LEADER", "BACK_PRESSURED", "PAYLOAD_TOO_LARGE", "ABORTED", "TRANSFERRING");

    @TempDir
    Path dir;

    private final Map<Long, Node> nodes = new HashMap<>();
    private final List<Node> allIncarnations = new ArrayList<>();
    private final Map<Long, Long> acked = new ConcurrentHashMap<>();
    private final Map<Long, String> failed = new ConcurrentHashMap<>();
    private final List<String> protocolErrors = new ArrayList<>();
    private final AtomicLong nextCommand = new AtomicLong(1);
    /** [first, end) of every range a load was asked to issue; "stopped" lines cut them short. */
    private final Map<Long, long[]> issued = new ConcurrentHashMap<>();
    private Map<Long, String> endpoints;

    @AfterEach
    void cleanUp() throws InterruptedException
    {
        for (final Node node : allIncarnations)
        {
            node.process.destroyForcibly();
        }
        for (final Node node : allIncarnations)
        {
            node.process.waitFor(10, TimeUnit.SECONDS);
            // A killed driver cannot delete its directory.
            if (node.driverDir != null)
            {
                IoUtil.delete(new File(node.driverDir), true);
            }
        }
    }

    @Test
    void leaderKilledUnderLoadAndRestartedNothingAcknowledgedLost() throws Exception
    {
        endpoints = LoopbackPorts.endpoints(1, 2, 3);
        try
        {
            startCluster();
            final Node first = awaitLeader(0, Set.of(1L, 2L, 3L));

            writeUntilAcked(100_000, Set.of(1L, 2L, 3L));

            // Kill the leader with writes in flight.
            final Node doomed = awaitLeader(0, Set.of(1L, 2L, 3L));
            final long ackedBefore = acked.size();
            final long start = nextCommand.getAndAdd(50_000);
            doomed.load(start, 50_000);
            waitUntil(() -> acked.size() >= ackedBefore + 5_000, "5,000 acks of the load on node " + doomed.id);
            doomed.kill();
            final long lastAckedByDoomed = doomed.maxAckedIndex;
            final long termBefore = doomed.term;
            final Set<Long> survivors = new HashSet<>(nodes.keySet());
            survivors.remove(doomed.id);

            final Node successor = awaitLeader(termBefore, survivors);
            assertNotEquals(doomed.id, successor.id);
            writeUntilAcked(acked.size() + 30_000, survivors);

            // The killed node restarts on its data directory and catches up while writes go on.
            final Node restarted = start(doomed.id, false);
            restarted.awaitLine("ready", STEP_TIMEOUT);
            // Tail recovery after SIGKILL: everything the killed leader acknowledged was in its log.
            assertTrue(restarted.recoveredLastIndex >= lastAckedByDoomed,
                "node " + restarted.id + " reopened its log at " + restarted.recoveredLastIndex + " but had acknowledged index " +
                lastAckedByDoomed);
            writeUntilAcked(acked.size() + 20_000, survivors);

            final long lastIndex = awaitConverged();
            check(lastIndex, first.id, 150_000);
            // Its log ended before the leader's purge point (snapshots every 20,000 entries, 30,000 written
            // while it was down), so it caught up through InstallSnapshot over Aeron.
            assertTrue(restarted.snapshotsInstalled.stream().anyMatch(index -> index > restarted.recoveredLastIndex),
                "node " + restarted.id + " (log recovered up to " + restarted.recoveredLastIndex + ") installed snapshots " +
                restarted.snapshotsInstalled);
            System.out.println("AeronClusterProcessTest: node " + doomed.id + " killed in term " + termBefore + " after acknowledging index " +
                lastAckedByDoomed + ", reopened its log at " + restarted.recoveredLastIndex + " (snapshot at " + restarted.recoveredSnapshot +
                "), installed snapshots " + restarted.snapshotsInstalled + "; node " + successor.id + " led term " + successor.term);
        }
        catch (final Throwable t)
        {
            printOutputs();
            throw t;
        }
    }

    @Test
    void leaderPausedUnderLoadIsDeposedAndItsPendingWritesGetHonestOutcomes() throws Exception
    {
        endpoints = LoopbackPorts.endpoints(1, 2, 3);
        try
        {
            startCluster();
            final Node first = awaitLeader(0, Set.of(1L, 2L, 3L));
            writeUntilAcked(20_000, Set.of(1L, 2L, 3L));

            // SIGSTOP the leader with writes in flight: the others elect a new leader and write on.
            final Node paused = awaitLeader(0, Set.of(1L, 2L, 3L));
            final long ackedBefore = acked.size();
            final long start = nextCommand.getAndAdd(50_000);
            paused.load(start, 50_000);
            waitUntil(() -> acked.size() >= ackedBefore + 2_000, "2,000 acks of the load on node " + paused.id);
            paused.signal("STOP");
            final long pausedTerm = paused.term;
            final Set<Long> others = new HashSet<>(nodes.keySet());
            others.remove(paused.id);
            awaitLeader(pausedTerm, others);
            writeUntilAcked(acked.size() + 20_000, others);

            // Resumed (well within the client timeout), it learns the new term: every write it accepted
            // gets an outcome, and those its successor overwrote are ABORTED, never OK.
            paused.signal("CONT");
            paused.awaitLine("loaded " + start, STEP_TIMEOUT);
            writeUntilAcked(acked.size() + 5_000, Set.of(1L, 2L, 3L));

            final long lastIndex = awaitConverged();
            check(lastIndex, first.id, 40_000);
            System.out.println("AeronClusterProcessTest: node " + paused.id + " paused in term " + pausedTerm + "; outcomes of its load " +
                outcomesOf(start, start + 50_000));
        }
        catch (final Throwable t)
        {
            printOutputs();
            throw t;
        }
    }

    private Map<String, Integer> outcomesOf(final long from, final long to)
    {
        final Map<String, Integer> counts = new TreeMap<>();
        for (long n = from; n < to; n++)
        {
            final String outcome = acked.containsKey(n) ? "OK" : failed.getOrDefault(n, wasIssued(n) ? "none" : "not submitted");
            counts.merge(outcome, 1, Integer::sum);
        }
        return counts;
    }

    private void startCluster() throws IOException, InterruptedException
    {
        for (long id = 1; id <= 3; id++)
        {
            start(id, true);
        }
        for (final Node node : nodes.values())
        {
            node.awaitLine("ready", STEP_TIMEOUT);
        }
    }

    /** Loads writes on whichever node leads, in chunks, until {@code target} writes are acknowledged. */
    private void writeUntilAcked(final long target, final Set<Long> candidates) throws Exception
    {
        final long deadline = System.nanoTime() + STEP_TIMEOUT.toNanos() * 2;
        while (acked.size() < target)
        {
            if (System.nanoTime() > deadline)
            {
                fail("only " + acked.size() + " of " + target + " writes acknowledged in time");
            }
            final Node leader = awaitLeader(0, candidates);
            final long count = Math.min(25_000, target - acked.size());
            final long start = nextCommand.getAndAdd(count);
            leader.load(start, count);
            leader.awaitLine("loaded " + start, STEP_TIMEOUT);
        }
    }

    /** Waits until every node is alive and reports the same committed and applied index, twice in a row. */
    private long awaitConverged() throws InterruptedException
    {
        final long deadline = System.nanoTime() + STEP_TIMEOUT.toNanos();
        long previous = -1;
        while (System.nanoTime() < deadline)
        {
            final Set<Long> applied = new HashSet<>();
            for (final Node node : nodes.values())
            {
                assertTrue(node.process.isAlive(), "node " + node.id + " died");
                applied.add(node.applied);
                applied.add(node.committed);
            }
            if (applied.size() == 1)
            {
                final long index = applied.iterator().next();
                if (index == previous)
                {
                    return index;
                }
                previous = index;
            }
            Thread.sleep(300);
        }
        fail("nodes did not converge: " + statuses());
        return -1;
    }

    private void check(final long lastIndex, final long firstLeader, final long minAcked) throws Exception
    {
        final Map<Long, long[][]> sequences = new HashMap<>();
        for (final Node node : nodes.values())
        {
            final Path file = dir.resolve("applied-" + node.id + ".txt");
            node.send("dump " + file);
            node.awaitLine("dumped ", STEP_TIMEOUT);
            final List<String> lines = Files.readAllLines(file);
            final long[][] seq = new long[lines.size()][];
            for (int i = 0; i < seq.length; i++)
            {
                final String[] w = lines.get(i).split(" ");
                seq[i] = new long[] {Long.parseLong(w[0]), Long.parseLong(w[1])};
            }
            sequences.put(node.id, seq);
        }
        synchronized (protocolErrors)
        {
            assertEquals(List.of(), protocolErrors, "children reported errors, corruption or contradictions");
        }

        final long[][] reference = sequences.get(firstLeader);
        for (final Map.Entry<Long, long[][]> e : sequences.entrySet())
        {
            assertEquals(reference.length, e.getValue().length, "node " + e.getKey() + " applied a different number of commands");
            for (int i = 0; i < reference.length; i++)
            {
                assertTrue(Arrays.equals(reference[i], e.getValue()[i]),
                    "node " + e.getKey() + " differs at position " + i + ": " + Arrays.toString(e.getValue()[i]) +
                    " vs node " + firstLeader + ": " + Arrays.toString(reference[i]));
            }
        }

        final Map<Long, Long> indexOf = new HashMap<>();
        long previousIndex = 0;
        for (final long[] entry : reference)
        {
            assertTrue(entry[0] > previousIndex, "indices not increasing at " + Arrays.toString(entry));
            assertTrue(entry[0] <= lastIndex, "applied beyond the commit index: " + Arrays.toString(entry));
            previousIndex = entry[0];
            assertNull(indexOf.put(entry[1], entry[0]), "command " + entry[1] + " applied twice");
            final String outcome = failed.get(entry[1]);
            assertFalse(outcome != null && NOT_WRITTEN.contains(outcome),
                "command " + entry[1] + " was refused or aborted (" + outcome + ") yet applied at index " + entry[0]);
            assertTrue(wasIssued(entry[1]), "command " + entry[1] + " was never submitted yet applied at " + entry[0]);
        }
        for (final Map.Entry<Long, Long> ack : acked.entrySet())
        {
            assertEquals(ack.getValue(), indexOf.get(ack.getKey()), "acknowledged command " + ack.getKey() + " at its index");
        }
        final long unknownPresent = reference.length - acked.size();
        System.out.println("AeronClusterProcessTest: " + reference.length + " commands applied on every node up to index " + lastIndex +
            "; " + acked.size() + " acknowledged, " + failed.size() + " failed " + countByStatus() + ", " + unknownPresent +
            " committed without an acknowledgement reaching the test");
        assertTrue(acked.size() >= minAcked, "acknowledged " + acked.size());
    }

    private Map<String, Integer> countByStatus()
    {
        final Map<String, Integer> counts = new HashMap<>();
        failed.values().forEach(s -> counts.merge(s, 1, Integer::sum));
        return counts;
    }

    private boolean wasIssued(final long n)
    {
        for (final long[] range : issued.values())
        {
            if (n >= range[0] && n < range[1])
            {
                return true;
            }
        }
        return false;
    }

    /** Waits for a leader among {@code candidates} that every live candidate agrees on, in a term above {@code minTermExclusive}. */
    private Node awaitLeader(final long minTermExclusive, final Set<Long> candidates) throws InterruptedException
    {
        final long deadline = System.nanoTime() + STEP_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline)
        {
            for (final long id : candidates)
            {
                final Node node = nodes.get(id);
                if ("LEADER".equals(node.role) && node.term > minTermExclusive && node.process.isAlive())
                {
                    boolean agreed = true;
                    for (final long other : candidates)
                    {
                        final Node o = nodes.get(other);
                        agreed &= o.leader == id && o.term == node.term;
                    }
                    if (agreed)
                    {
                        return node;
                    }
                }
            }
            Thread.sleep(20);
        }
        fail("no leader among " + candidates + " above term " + minTermExclusive + ": " + statuses());
        return null;
    }

    private String statuses()
    {
        final StringBuilder sb = new StringBuilder();
        nodes.values().forEach(n -> sb.append("\n  node ").append(n.id).append(n.process.isAlive() ? "" : " (dead)").append(": ")
            .append(n.role).append(" term=").append(n.term).append(" leader=").append(n.leader).append(" committed=")
            .append(n.committed).append(" applied=").append(n.applied));
        return sb.toString();
    }

    private static void waitUntil(final BooleanSupplier condition, final String what) throws InterruptedException
    {
        final long deadline = System.nanoTime() + STEP_TIMEOUT.toNanos();
        while (!condition.getAsBoolean())
        {
            if (System.nanoTime() > deadline)
            {
                fail("timed out waiting for " + what);
            }
            Thread.sleep(5);
        }
    }

    private Node start(final long id, final boolean init) throws IOException
    {
        final Path data = dir.resolve("node-" + id);
        Files.createDirectories(data);
        final List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        final String flags = System.getProperty("ringraft.jvmFlags");
        assertNotNull(flags, "surefire passes ringraft.jvmFlags");
        command.addAll(Arrays.asList(flags.trim().split("\\s+")));
        command.addAll(List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-cp", System.getProperty("java.class.path"), ClusterNodeMain.class.getName(),
            Long.toString(id), Integer.toString(CLUSTER), EchoNode.endpointsArg(endpoints), data.toString(),
            init ? "init" : "restart", Long.toString(SNAPSHOT_EVERY)));
        final int incarnation = (int)allIncarnations.stream().filter(n -> n.id == id).count();
        final Path output = dir.resolve("node-" + id + "-" + incarnation + ".out");
        final Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        final Node node = new Node(id, process, output);
        nodes.put(id, node);
        allIncarnations.add(node);
        node.reader.start();
        return node;
    }

    private void printOutputs()
    {
        System.out.println("AeronClusterProcessTest failed; statuses:" + statuses());
        for (final Node node : allIncarnations)
        {
            try
            {
                final List<String> lines = Files.readAllLines(node.output);
                System.out.println("---- " + node.output.getFileName() + " (" + lines.size() + " lines; ack, fail and status lines summarized) ----");
                lines.stream().filter(l -> !l.startsWith("ack ") && !l.startsWith("status ") && !l.startsWith("fail "))
                    .limit(300).forEach(System.out::println);
                final Map<String, List<String>> fails = new TreeMap<>();
                lines.stream().filter(l -> l.startsWith("fail ")).forEach(l -> fails.computeIfAbsent(l.split(" ")[2], k -> new ArrayList<>()).add(l));
                fails.forEach((status, list) -> System.out.println(list.size() + " x " + status + ", first '" + list.get(0) + "', last '" +
                    list.get(list.size() - 1) + "'"));
                System.out.println(lines.stream().filter(l -> l.startsWith("ack ")).count() + " ack lines");
                final List<String> statusLines = lines.stream().filter(l -> l.startsWith("status ")).toList();
                statusLines.subList(Math.max(0, statusLines.size() - 5), statusLines.size()).forEach(System.out::println);
            }
            catch (final IOException ex)
            {
                System.out.println("cannot read " + node.output + ": " + ex);
            }
        }
    }

    /** One incarnation of a child node: its process, stdin, and what its stdout last said. */
    private final class Node
    {
        final long id;
        final Process process;
        final Path output;
        final BufferedWriter stdin;
        final LinkedBlockingQueue<String> controlLines = new LinkedBlockingQueue<>();
        final Thread reader;
        volatile String driverDir;
        volatile String role = "?";
        volatile long term;
        volatile long leader;
        volatile long committed;
        volatile long applied;
        volatile long maxAckedIndex;
        volatile long recoveredLastIndex = -1;
        volatile long recoveredSnapshot = -1;
        final List<Long> snapshotsInstalled = new CopyOnWriteArrayList<>();

        Node(final long id, final Process process, final Path output)
        {
            this.id = id;
            this.process = process;
            this.output = output;
            this.stdin = new BufferedWriter(new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8));
            this.reader = new Thread(this::readOutput, "node-" + id + "-out");
            this.reader.setDaemon(true);
        }

        void load(final long first, final long count) throws IOException
        {
            issued.put(first, new long[] {first, first + count});
            send("load " + first + " " + count + " " + WINDOW);
        }

        void send(final String line) throws IOException
        {
            stdin.write(line);
            stdin.newLine();
            stdin.flush();
        }

        /** Sends a signal ("STOP", "CONT") to the process. */
        void signal(final String name) throws IOException, InterruptedException
        {
            final Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start();
            assertEquals(0, kill.waitFor(), "kill -" + name + " " + process.pid());
        }

        void kill() throws InterruptedException
        {
            process.destroyForcibly();
            assertTrue(process.waitFor(10, TimeUnit.SECONDS), "node " + id + " killed");
            assertNotNull(driverDir, "node " + id + " named its driver directory");
            assertTrue(new File(driverDir).isDirectory(), "a killed driver leaves its directory behind");
            IoUtil.delete(new File(driverDir), true);
            role = "KILLED";
        }

        /** Waits for a control line starting with {@code prefix}, failing if the process dies first. */
        String awaitLine(final String prefix, final Duration timeout) throws InterruptedException
        {
            final long deadline = System.nanoTime() + timeout.toNanos();
            while (System.nanoTime() < deadline)
            {
                final String line = controlLines.poll(50, TimeUnit.MILLISECONDS);
                if (line != null && line.startsWith(prefix))
                {
                    return line;
                }
                if (line == null && !process.isAlive() && controlLines.isEmpty())
                {
                    fail("node " + id + " exited with " + process.exitValue() + " while waiting for '" + prefix + "'");
                }
            }
            fail("node " + id + " did not say '" + prefix + "' within " + timeout + ":" + statuses());
            return null;
        }

        private void readOutput()
        {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
                BufferedWriter log = Files.newBufferedWriter(output, StandardCharsets.UTF_8))
            {
                String line;
                while ((line = in.readLine()) != null)
                {
                    log.write(line);
                    log.newLine();
                    if (!in.ready())
                    {
                        log.flush();
                    }
                    onLine(line);
                }
            }
            catch (final IOException ex)
            {
                throw new UncheckedIOException(ex);
            }
        }

        private void onLine(final String line)
        {
            final String[] w = line.split(" ");
            switch (w[0])
            {
                case "status":
                    role = w[1];
                    term = Long.parseLong(w[2]);
                    leader = Long.parseLong(w[3]);
                    committed = Long.parseLong(w[5]);
                    applied = Long.parseLong(w[6]);
                    break;
                case "ack":
                {
                    final long n = Long.parseLong(w[1]);
                    final long index = Long.parseLong(w[2]);
                    maxAckedIndex = Math.max(maxAckedIndex, index);
                    final Long previous = acked.put(n, index);
                    if (previous != null || failed.containsKey(n))
                    {
                        error("node " + id + ": second outcome for " + n + ": " + line);
                    }
                    break;
                }
                case "fail":
                {
                    final long n = Long.parseLong(w[1]);
                    if (failed.put(n, w[2]) != null || acked.containsKey(n))
                    {
                        error("node " + id + ": second outcome for " + n + ": " + line);
                    }
                    break;
                }
                case "stopped":
                {
                    final long n = Long.parseLong(w[1]);
                    issued.values().stream().filter(r -> n >= r[0] && n <= r[1]).forEach(r -> r[1] = n);
                    break;
                }
                case "recovered":
                    recoveredLastIndex = Long.parseLong(w[1]);
                    recoveredSnapshot = Long.parseLong(w[3]);
                    break;
                case "snapshot-installed":
                    snapshotsInstalled.add(Long.parseLong(w[1]));
                    break;
                case "driver":
                    driverDir = w[1];
                    break;
                case "corrupt":
                case "error":
                    error("node " + id + ": " + line);
                    break;
                case "ready":
                case "loaded":
                case "dumped":
                    controlLines.add(line);
                    break;
                default:
                    break;
            }
        }

        private void error(final String message)
        {
            synchronized (protocolErrors)
            {
                protocolErrors.add(message);
            }
        }
    }
}
