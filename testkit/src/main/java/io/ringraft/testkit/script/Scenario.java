package io.ringraft.testkit.script;

import io.ringraft.Entry;
import io.ringraft.EntryType;
import io.ringraft.LogId;
import io.ringraft.Membership;
import io.ringraft.Vote;
import io.ringraft.engine.PlantedBug;
import io.ringraft.network.AppendEntriesRequest;
import io.ringraft.network.AppendEntriesResponse;
import io.ringraft.network.InstallSnapshotRequest;
import io.ringraft.network.InstallSnapshotResponse;
import io.ringraft.network.RaftMessage;
import io.ringraft.network.VoteRequest;
import io.ringraft.network.VoteResponse;
import io.ringraft.testkit.kv.KvCommand;
import io.ringraft.testkit.sim.InvariantChecker;
import io.ringraft.testkit.sim.MessageType;
import io.ringraft.testkit.sim.NodeMetrics;
import io.ringraft.testkit.sim.NodeState;
import io.ringraft.testkit.sim.SimCluster;
import io.ringraft.testkit.sim.SimNetwork;
import io.ringraft.testkit.sim.SimNode;
import io.ringraft.testkit.sim.SimOp;
import io.ringraft.testkit.sim.SimulationFailure;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Collectors;

/**
 * A Raft scenario as a text script, run step by step on a {@link SimCluster} of bare engines or of
 * the real runtime, with each step's output checked against the output the script expects (the
 * model is etcd-raft's datadriven interaction tests). The language is described, command by
 * command, in the testkit's README; in short:
 * <pre>
 * # a comment
 * cluster nodes=3 prevote=off
 * campaign 1
 * deliver
 * status
 * ----
 * N1 LEADER term=1 vote=1 last=1/2 commit=2 applied=2
 * N2 FOLLOWER term=1 vote=1 last=1/2 commit=1 applied=1
 * N3 FOLLOWER term=1 vote=1 last=1/2 commit=1 applied=1
 *
 * expect commit 1 == 2
 * </pre>
 * A step is one command line; the lines after a {@code ----} line, up to a blank line, are the output
 * it must print; a step without them must print nothing. {@code expect} prints nothing when it holds,
 * and a line starting {@code FAILED} when not, so a broken expectation shows as a mismatch. A step that
 * makes the cluster fail (an invariant broken) prints {@code failure: <reason>} (without the reason's
 * parenthesised detail), and one that misuses the cluster (restarting a node that is up, say) prints
 * {@code error: <message>}.
 * <p>
 * Unless the {@code cluster} line says otherwise, a script runs exactly: no timer fires by itself, every
 * message is held until a {@code deliver} lets it through (after no delay), flushes complete at once,
 * clocks do not drift; after each command the cluster runs for the settle time (1 ms) so that what it
 * set off completes.
 */
public final class Scenario
{
    /** On what a scenario runs. */
    public enum Mode
    {
        /** The bare {@code Engine} ({@code EngineSimNode}). */
        ENGINE,
        /** The real runtime, {@code Raft} in INVOKER mode ({@code RuntimeSimNode}). */
        RUNTIME
    }

    private static final String SEPARATOR = "----";

    private final String name;
    private final List<Step> steps;
    private final List<String> trailer;

    private Scenario(final String name, final List<Step> steps, final List<String> trailer)
    {
        this.name = name;
        this.steps = steps;
        this.trailer = trailer;
    }

    /**
     * @param name a name for messages (the file name, say)
     * @param text the script
     * @return the scenario
     * @throws IllegalArgumentException on a malformed script, naming the line
     */
    public static Scenario parse(final String name, final String text)
    {
        final List<String> lines = text.lines().map(String::stripTrailing).toList();
        final List<Step> steps = new ArrayList<>();
        List<String> preamble = new ArrayList<>();
        int i = 0;
        while (i < lines.size())
        {
            final String line = lines.get(i);
            if (line.isBlank() || line.stripLeading().startsWith("#"))
            {
                preamble.add(line);
                i++;
                continue;
            }
            if (line.equals(SEPARATOR))
            {
                throw new IllegalArgumentException(name + ":" + (i + 1) + ": '----' without a command before it");
            }
            final int lineNo = i + 1;
            i++;
            List<String> expected = null;
            if (i < lines.size() && lines.get(i).equals(SEPARATOR))
            {
                expected = new ArrayList<>();
                i++;
                while (i < lines.size() && !lines.get(i).isBlank())
                {
                    expected.add(lines.get(i));
                    i++;
                }
            }
            steps.add(new Step(lineNo, line.strip(), expected, preamble));
            preamble = new ArrayList<>();
        }
        return new Scenario(name, steps, preamble);
    }

    /**
     * @param file a script file
     * @return the scenario, named after the file
     */
    public static Scenario load(final Path file)
    {
        try
        {
            return parse(file.getFileName().toString(), Files.readString(file));
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot read scenario " + file, ex);
        }
    }

    /**
     * @param resource a class-path resource, e.g. {@code "scenarios/figure8.txt"}
     * @return the scenario
     */
    public static Scenario fromResource(final String resource)
    {
        try (InputStream in = Scenario.class.getClassLoader().getResourceAsStream(resource))
        {
            if (in == null)
            {
                throw new IllegalArgumentException("no scenario resource " + resource);
            }
            return parse(resource, new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot read scenario " + resource, ex);
        }
    }

    /** @return its name */
    public String name()
    {
        return name;
    }

    /**
     * Runs the scenario and compares every step's output with what the script expects.
     *
     * @param mode on what to run it
     * @throws AssertionError at the first step whose output differs, showing both
     */
    public void check(final Mode mode)
    {
        final List<String> actual = run(mode);
        for (int s = 0; s < steps.size(); s++)
        {
            final Step step = steps.get(s);
            final List<String> expected = step.expected == null ? List.of() : step.expected;
            final List<String> got = actual.get(s).isEmpty() ? List.of() : actual.get(s).lines().toList();
            if (!expected.equals(got))
            {
                throw new AssertionError(name + ":" + step.line + " (" + mode + "): " + step.command + "\nexpected:\n" +
                    String.join("\n", expected) + "\ngot:\n" + String.join("\n", got));
            }
        }
    }

    /**
     * Runs the scenario and returns each step's output.
     *
     * @param mode on what to run it
     * @return the output of each step, in order ("" for none)
     * @throws IllegalArgumentException on a malformed command, naming its line
     */
    public List<String> run(final Mode mode)
    {
        final Run run = new Run(mode);
        final List<String> outputs = new ArrayList<>();
        for (final Step step : steps)
        {
            try
            {
                outputs.add(run.execute(step.command));
            }
            catch (final IllegalArgumentException ex)
            {
                // A malformed command (a cluster's refusal is printed as its output instead).
                throw new IllegalArgumentException(name + ":" + step.line + ": " + step.command + ": " + ex.getMessage(), ex);
            }
        }
        return outputs;
    }

    /**
     * @param mode on what to run it
     * @return the script with every step's expected output replaced by what it printed (to write a new
     *         scenario's expectations; review them before keeping them)
     */
    public String rewrite(final Mode mode)
    {
        final List<String> actual = run(mode);
        final StringBuilder out = new StringBuilder();
        for (int s = 0; s < steps.size(); s++)
        {
            final Step step = steps.get(s);
            step.preamble.forEach(line -> out.append(line).append('\n'));
            out.append(step.command).append('\n');
            if (!actual.get(s).isEmpty())
            {
                out.append(SEPARATOR).append('\n').append(actual.get(s)).append('\n');
                if (s + 1 < steps.size() && (steps.get(s + 1).preamble.isEmpty() || !steps.get(s + 1).preamble.get(0).isBlank()))
                {
                    out.append('\n');
                }
            }
        }
        trailer.forEach(line -> out.append(line).append('\n'));
        return out.toString();
    }

    private record Step(int line, String command, List<String> expected, List<String> preamble)
    {
    }

    /** A malformed command. */
    private static final class ScriptError extends IllegalArgumentException
    {
        private static final long serialVersionUID = 1L;

        private ScriptError(final String message)
        {
            super(message);
        }
    }

    /** The state of one run of a scenario. */
    private static final class Run
    {
        private final Mode mode;
        private final Map<Long, NodeState> states = new HashMap<>();
        private final Map<String, SimOp> ops = new LinkedHashMap<>();
        private SimCluster.Builder builder;
        private SimCluster cluster;
        private Predicate<RaftMessage> holdAll;
        private boolean timers;
        private long settleNanos = TimeUnit.MILLISECONDS.toNanos(1);

        private Run(final Mode mode)
        {
            this.mode = mode;
        }

        private String execute(final String command)
        {
            final String[] words = command.split("\\s+");
            final String verb = words[0];
            if (verb.equals("cluster"))
            {
                configure(words);
                return "";
            }
            if (verb.equals("state"))
            {
                state(words);
                return "";
            }
            if (builder == null)
            {
                throw new ScriptError("the first command must be 'cluster'");
            }
            final StringBuilder out = new StringBuilder();
            try
            {
                if (cluster == null)
                {
                    start();
                }
                act(verb, words, out);
            }
            catch (final SimulationFailure failure)
            {
                out.setLength(0);
                // The parenthesised detail (e.g. a log's last id) may differ between the engine and the runtime.
                final String reason = failure.reason().lines().findFirst().orElse("");
                final int detail = reason.indexOf(" (");
                out.append("failure: ").append(detail < 0 ? reason : reason.substring(0, detail));
            }
            catch (final IllegalArgumentException | IllegalStateException ex)
            {
                if (ex instanceof ScriptError)
                {
                    throw ex;
                }
                if (ex instanceof NumberFormatException)
                {
                    throw new ScriptError("not a number: " + ex.getMessage());
                }
                out.setLength(0);
                out.append("error: ").append(ex.getMessage());
            }
            final String text = out.toString();
            return text.endsWith("\n") ? text.substring(0, text.length() - 1) : text;
        }

        private void act(final String verb, final String[] words, final StringBuilder out)
        {
            switch (verb)
            {
                case "campaign" -> settle(() -> cluster.triggerElection(node(words, 1)));
                case "tick" -> tick(words);
                case "timers" -> timers(words);
                case "deliver" -> settle(() -> deliver(words, false));
                case "drop" -> settle(() -> deliver(words, true));
                case "held" -> held(words, out);
                case "partition" -> settle(() -> cluster.partition(groups(arg(words, 1))));
                case "isolate" -> settle(() -> cluster.isolate(node(words, 1)));
                case "cut" -> settle(() -> cluster.cut(link(arg(words, 1))[0], link(arg(words, 1))[1]));
                case "restore" -> settle(() -> cluster.restoreLinks());
                case "crash" -> settle(() -> cluster.crash(node(words, 1)));
                case "restart" -> settle(() -> cluster.restart(node(words, 1)));
                case "replace-disk" -> settle(() -> cluster.replaceDisk(node(words, 1)));
                case "write" -> settle(() -> op(words, 4, cluster.writeTo(node(words, 1), arg(words, 2), arg(words, 3))));
                case "read" -> settle(() -> op(words, 3, cluster.readAt(node(words, 1), arg(words, 2))));
                case "lease-read" -> settle(() -> op(words, 3, cluster.leaseReadAt(node(words, 1), arg(words, 2))));
                case "add-learner" -> settle(() -> cluster.addLearner(node(words, 1), number(words, 2)));
                case "change-voters" -> settle(() -> cluster.changeMembership(node(words, 1), ids(arg(words, 2)), false));
                case "transfer" -> settle(() -> cluster.transferLeader(node(words, 1), number(words, 2)));
                case "snapshot" -> settle(() -> cluster.buildSnapshot(node(words, 1)));
                case "purge" -> settle(() -> cluster.purgeLog(node(words, 1), number(words, 2)));
                case "run" -> cluster.advance(number(words, 1));
                case "stabilize" -> stabilize();
                case "status" -> status(words, out);
                case "log" -> log(words, out);
                case "members" -> members(words, out);
                case "expect" -> expect(words, out);
                default -> throw new ScriptError("unknown command '" + verb + "'");
            }
        }

        private void configure(final String[] words)
        {
            if (builder != null)
            {
                throw new ScriptError("'cluster' may come only once, first");
            }
            final Map<String, String> options = options(words, 1);
            final int nodes = Integer.parseInt(options.getOrDefault("nodes", "3"));
            final long electionMillis = Long.parseLong(options.getOrDefault("election", "1000"));
            final boolean preVote = onOff(options, "prevote", true);
            final boolean checkQuorum = onOff(options, "checkquorum", true);
            final int maxEntries = Integer.parseInt(options.getOrDefault("maxentries", "1024"));
            final int window = Integer.parseInt(options.getOrDefault("window", "64"));
            final long retain = Long.parseLong(options.getOrDefault("retain", "1024"));
            final PlantedBug bug = PlantedBug.valueOf(options.getOrDefault("bug", "NONE").toUpperCase(Locale.ROOT));
            timers = onOff(options, "timers", false);
            final boolean manual = options.getOrDefault("network", "manual").equals("manual");
            if (!manual && !options.get("network").equals("auto"))
            {
                throw new ScriptError("network must be manual or auto: " + options.get("network"));
            }
            settleNanos = TimeUnit.MILLISECONDS.toNanos(Long.parseLong(options.getOrDefault("settle", "1")));
            builder = SimCluster.builder().nodes(nodes).seed(Long.parseLong(options.getOrDefault("seed", "1")))
                .runtime(mode == Mode.RUNTIME)
                .maxClockDrift(0)
                .flushDelayMicros(0, 0)
                .clientTimeoutMillis(Long.parseLong(options.getOrDefault("client-timeout", "60000")))
                .snapshotEvery(Long.parseLong(options.getOrDefault("snapshot-every", "0")))
                .snapshotChunkBytes(Integer.parseInt(options.getOrDefault("chunk", "256")))
                .engineConfig(c -> c.electionTimeoutMinNanos(TimeUnit.MILLISECONDS.toNanos(electionMillis))
                    .electionTimeoutMaxNanos(TimeUnit.MILLISECONDS.toNanos(2 * electionMillis))
                    .heartbeatIntervalNanos(TimeUnit.MILLISECONDS.toNanos(Math.max(1, electionMillis / 5)))
                    .preVote(preVote).checkQuorum(checkQuorum).maxEntriesPerAppend(maxEntries).maxInflightAppends(window)
                    .logRetainEntries(retain).maxClockDriftNanos(0).plantedBug(bug));
            if (options.containsKey("voters"))
            {
                builder.initialVoters(ids(options.get("voters")));
            }
            if (options.containsKey("disable-checks"))
            {
                for (final String check : options.get("disable-checks").split(","))
                {
                    builder.disableChecks(InvariantChecker.Check.valueOf(check.toUpperCase(Locale.ROOT).replace('-', '_')));
                }
            }
            if (manual)
            {
                holdAll = m -> true;
            }
            else
            {
                builder.networkDelayMicros(Long.parseLong(options.getOrDefault("delay-min", "500")),
                    Long.parseLong(options.getOrDefault("delay-max", "5000")));
            }
        }

        private void state(final String[] words)
        {
            if (builder == null || cluster != null)
            {
                throw new ScriptError("'state' comes after 'cluster' and before any other command");
            }
            final long id = number(words, 1);
            final Map<String, String> options = options(words, 2);
            final NodeState.Builder state = NodeState.builder();
            if (options.containsKey("vote"))
            {
                final long[] vote = pair(options.get("vote"));
                state.vote(vote[0], vote[1]);
            }
            if (options.containsKey("snapshot"))
            {
                final long[] point = pair(options.get("snapshot"));
                state.snapshot(new LogId(point[0], point[1]), Map.of());
            }
            if (options.containsKey("log"))
            {
                state.terms(ids(options.get("log")));
            }
            states.put(id, state.build());
        }

        private void start()
        {
            states.forEach(builder::initialState);
            cluster = builder.build();
            for (int id = 1; id <= cluster.size(); id++)
            {
                cluster.electionTimer(id, timers);
                cluster.heartbeats(id, timers);
            }
            if (holdAll != null)
            {
                cluster.network().hold(holdAll);
            }
            // A node that (re)starts refuses votes for an election timeout: let the first one pass.
            cluster.advanceNanos(cluster.electionTimeoutMaxNanos());
        }

        private void settle(final Runnable action)
        {
            action.run();
            cluster.advanceNanos(settleNanos);
        }

        private void tick(final String[] words)
        {
            final long id = node(words, 1);
            switch (arg(words, 2))
            {
                case "election" -> settle(() -> cluster.expireElectionTimer(id));
                case "heartbeat" -> settle(() -> cluster.triggerHeartbeat(id));
                default -> throw new ScriptError("tick takes 'election' or 'heartbeat': " + arg(words, 2));
            }
        }

        private void timers(final String[] words)
        {
            final String target = arg(words, 1);
            final boolean on = switch (arg(words, 2))
            {
                case "on" -> true;
                case "off" -> false;
                default -> throw new ScriptError("timers takes on or off: " + arg(words, 2));
            };
            final String which = words.length > 3 ? words[3] : "all";
            if (!which.equals("all") && !which.equals("election") && !which.equals("heartbeat"))
            {
                throw new ScriptError("timers switches 'election', 'heartbeat' or 'all': " + which);
            }
            for (int id = 1; id <= cluster.size(); id++)
            {
                if (target.equals("all") || Long.parseLong(target) == id)
                {
                    if (!which.equals("heartbeat"))
                    {
                        cluster.electionTimer(id, on);
                    }
                    if (!which.equals("election"))
                    {
                        cluster.heartbeats(id, on);
                    }
                }
            }
            cluster.advanceNanos(settleNanos);
        }

        /** deliver|drop [F->T] [type] [entries=K] [count=N] */
        private void deliver(final String[] words, final boolean drop)
        {
            final Selection selection = selection(words, 1);
            int count = 0;
            for (final SimNetwork.HeldMessage held : cluster.network().held())
            {
                if (count >= selection.count || !selection.matches(held.message()))
                {
                    continue;
                }
                count++;
                if (drop)
                {
                    held.drop();
                    continue;
                }
                if (selection.entries >= 0 && held.message() instanceof AppendEntriesRequest append)
                {
                    held.keepFirstEntries(Math.min(selection.entries, append.entries().size()));
                }
                held.release(0);
            }
        }

        private void held(final String[] words, final StringBuilder out)
        {
            final Selection selection = selection(words, 1);
            for (final SimNetwork.HeldMessage held : cluster.network().held())
            {
                if (selection.matches(held.message()))
                {
                    out.append(describe(held.message())).append('\n');
                }
            }
        }

        /** Delivers every held message and lets the cluster settle, until none is held (at most 1,000 rounds). */
        private void stabilize()
        {
            for (int round = 0; round < 1_000; round++)
            {
                if (cluster.network().heldCount() == 0)
                {
                    return;
                }
                settle(() -> cluster.network().held().forEach(m -> m.release(0)));
            }
            throw new IllegalStateException("stabilize: messages still held after 1000 rounds");
        }

        private void status(final String[] words, final StringBuilder out)
        {
            for (int id = 1; id <= cluster.size(); id++)
            {
                if (words.length > 1 && Long.parseLong(words[1]) != id)
                {
                    continue;
                }
                final NodeMetrics m = cluster.metrics(id);
                final SimNode node = cluster.node(id);
                out.append('N').append(id).append(' ');
                if (!m.up())
                {
                    out.append("DOWN term=").append(m.term()).append(" vote=").append(m.vote().votedFor()).append(" last=")
                        .append(id(node.log().lastLogId()));
                }
                else
                {
                    out.append(m.role()).append(" term=").append(m.term()).append(" vote=").append(m.vote().votedFor())
                        .append(" last=").append(id(m.lastLogId())).append(" commit=").append(m.committed()).append(" applied=")
                        .append(m.applied());
                    if (m.lastPurged().index() > 0)
                    {
                        out.append(" purged=").append(id(m.lastPurged()));
                    }
                    if (m.snapshot() != null)
                    {
                        out.append(" snapshot=").append(id(m.snapshot()));
                    }
                }
                out.append('\n');
            }
        }

        private void log(final String[] words, final StringBuilder out)
        {
            final SimNode node = cluster.node(node(words, 1));
            final LogId purged = node.log().lastPurgedLogId();
            if (purged.index() > 0)
            {
                out.append("purged up to ").append(id(purged)).append('\n');
            }
            for (long index = purged.index() + 1; index <= node.log().lastLogId().index(); index++)
            {
                out.append(describe(node.log().entry(index))).append('\n');
            }
        }

        private void members(final String[] words, final StringBuilder out)
        {
            final Membership m = cluster.node(node(words, 1)).membership();
            if (m == null)
            {
                out.append("none");
                return;
            }
            out.append("voters=").append(list(m.voters()));
            if (m.isJoint())
            {
                out.append(" next=").append(list(m.nextVoters()));
            }
            if (m.learners().length > 0)
            {
                out.append(" learners=").append(list(m.learners()));
            }
        }

        private static String list(final long[] ids)
        {
            return Arrays.stream(ids).mapToObj(Long::toString).collect(Collectors.joining(","));
        }

        private void expect(final String[] words, final StringBuilder out)
        {
            final String what = arg(words, 1);
            final String failed = switch (what)
            {
                case "leader" -> expectLeader(arg(words, 2));
                case "role" -> compareText("role of node " + node(words, 2), role(node(words, 2)),
                    arg(words, 3).toUpperCase(Locale.ROOT));
                case "term", "commit", "applied", "last", "vote" -> compareNumber(what + " of node " + node(words, 2),
                    numberOf(what, node(words, 2)), arg(words, 3), number(words, 4));
                case "terms" -> compareText("terms of the log of node " + node(words, 2), terms(node(words, 2)), arg(words, 3));
                case "value" -> compareText("value of " + arg(words, 3) + " on node " + node(words, 2),
                    value(node(words, 2), arg(words, 3)), arg(words, 4));
                case "op" -> expectOp(words);
                case "held" -> compareNumber("held messages", held(words), arg(words, words.length - 2),
                    number(words, words.length - 1));
                default -> throw new ScriptError("unknown expectation '" + what + "'");
            };
            if (failed != null)
            {
                out.append("FAILED: ").append(failed);
            }
        }

        private String expectLeader(final String expected)
        {
            final long leader = cluster.leader();
            final String actual = leader == Vote.NO_NODE ? "none" : Long.toString(leader);
            return compareText("leader", actual, expected);
        }

        private String expectOp(final String[] words)
        {
            final SimOp op = ops.get(arg(words, 2));
            if (op == null)
            {
                throw new ScriptError("no operation named " + arg(words, 2) + " (known: " + ops.keySet() + ")");
            }
            final String status = op.status().name();
            String failed = compareText("status of op " + arg(words, 2), status, arg(words, 3).toUpperCase(Locale.ROOT));
            if (failed == null && words.length > 4)
            {
                failed = compareText("result of op " + arg(words, 2), String.valueOf(op.result()), arg(words, 4));
            }
            return failed;
        }

        private long held(final String[] words)
        {
            final Selection selection = selection(Arrays.copyOf(words, words.length - 2), 2);
            return cluster.network().held().stream().filter(h -> selection.matches(h.message())).count();
        }

        private long numberOf(final String what, final long id)
        {
            final NodeMetrics m = cluster.metrics(id);
            return switch (what)
            {
                case "term" -> m.term();
                case "commit" -> m.committed();
                case "applied" -> m.applied();
                case "last" -> m.lastLogId().index();
                default -> m.vote().votedFor();
            };
        }

        private String role(final long id)
        {
            final SimNode node = cluster.node(id);
            return node.isUp() ? node.role().name() : "DOWN";
        }

        private String terms(final long id)
        {
            final SimNode node = cluster.node(id);
            final StringBuilder sb = new StringBuilder();
            for (long index = node.log().lastPurgedLogId().index() + 1; index <= node.log().lastLogId().index(); index++)
            {
                sb.append(sb.length() == 0 ? "" : ",").append(node.log().termAt(index));
            }
            return sb.length() == 0 ? "none" : sb.toString();
        }

        private String value(final long id, final String key)
        {
            final SimNode node = cluster.node(id);
            if (!node.isUp())
            {
                return "DOWN";
            }
            final String value = node.stateMachine().get(key);
            return value == null ? "absent" : value;
        }

        private void op(final String[] words, final int asAt, final SimOp op)
        {
            String opName = Integer.toString(ops.size() + 1);
            if (words.length > asAt)
            {
                if (!words[asAt].equals("as") || words.length != asAt + 2)
                {
                    throw new ScriptError("expected 'as NAME' after the operation");
                }
                opName = words[asAt + 1];
            }
            ops.put(opName, op);
        }

        private Selection selection(final String[] words, final int from)
        {
            final Selection selection = new Selection();
            for (int i = from; i < words.length; i++)
            {
                final String word = words[i];
                if (word.contains("->"))
                {
                    final String[] ends = word.split("->", -1);
                    selection.from = ends[0].equals("*") ? 0 : Long.parseLong(ends[0]);
                    selection.to = ends[1].equals("*") ? 0 : Long.parseLong(ends[1]);
                }
                else if (word.startsWith("entries="))
                {
                    selection.entries = Integer.parseInt(word.substring("entries=".length()));
                }
                else if (word.startsWith("count="))
                {
                    selection.count = Integer.parseInt(word.substring("count=".length()));
                }
                else
                {
                    try
                    {
                        selection.type = MessageType.byScriptName(word);
                    }
                    catch (final IllegalArgumentException ex)
                    {
                        throw new ScriptError(ex.getMessage());
                    }
                }
            }
            return selection;
        }

        private long node(final String[] words, final int at)
        {
            final long id = number(words, at);
            if (id < 1 || id > cluster.size())
            {
                throw new ScriptError("no node " + id + " in a cluster of " + cluster.size());
            }
            return id;
        }

        private static String compareText(final String what, final String actual, final String expected)
        {
            return actual.equals(expected) ? null : what + " is " + actual + ", expected " + expected;
        }

        private static String compareNumber(final String what, final long actual, final String op, final long expected)
        {
            final boolean ok = switch (op)
            {
                case "==" -> actual == expected;
                case "!=" -> actual != expected;
                case ">=" -> actual >= expected;
                case "<=" -> actual <= expected;
                case ">" -> actual > expected;
                case "<" -> actual < expected;
                default -> throw new ScriptError("unknown comparison '" + op + "': use == != >= <= > <");
            };
            return ok ? null : what + " is " + actual + ", expected " + op + " " + expected;
        }

        private static String arg(final String[] words, final int at)
        {
            if (at >= words.length)
            {
                throw new ScriptError("missing argument " + at);
            }
            return words[at];
        }

        private static long number(final String[] words, final int at)
        {
            try
            {
                return Long.parseLong(arg(words, at));
            }
            catch (final NumberFormatException ex)
            {
                throw new ScriptError("argument " + at + " must be a number: " + words[at]);
            }
        }

        private static Map<String, String> options(final String[] words, final int from)
        {
            final Map<String, String> options = new LinkedHashMap<>();
            for (int i = from; i < words.length; i++)
            {
                final int eq = words[i].indexOf('=');
                if (eq <= 0)
                {
                    throw new ScriptError("expected name=value: " + words[i]);
                }
                options.put(words[i].substring(0, eq), words[i].substring(eq + 1));
            }
            return options;
        }

        private static boolean onOff(final Map<String, String> options, final String name, final boolean defaultValue)
        {
            final String value = options.get(name);
            if (value == null)
            {
                return defaultValue;
            }
            return switch (value)
            {
                case "on" -> true;
                case "off" -> false;
                default -> throw new ScriptError(name + " must be on or off: " + value);
            };
        }

        private static long[] ids(final String list)
        {
            try
            {
                return Arrays.stream(list.split(",")).mapToLong(Long::parseLong).toArray();
            }
            catch (final NumberFormatException ex)
            {
                throw new ScriptError("expected a comma-separated list of numbers: " + list);
            }
        }

        private static long[] pair(final String value)
        {
            final long[] pair = ids(value.replace('/', ','));
            if (pair.length != 2)
            {
                throw new ScriptError("expected A/B: " + value);
            }
            return pair;
        }

        private static long[] link(final String value)
        {
            final String[] ends = value.split("->", -1);
            if (ends.length != 2)
            {
                throw new ScriptError("expected FROM->TO: " + value);
            }
            return new long[] {Long.parseLong(ends[0]), Long.parseLong(ends[1])};
        }

        private static long[][] groups(final String value)
        {
            return Arrays.stream(value.split("\\|")).map(Run::ids).toArray(long[][]::new);
        }

        private static String id(final LogId id)
        {
            return id.term() + "/" + id.index();
        }

        private static String describe(final Entry entry)
        {
            final String at = id(entry.logId()) + " ";
            if (entry.type() == EntryType.BLANK)
            {
                return at + "blank";
            }
            if (entry.type() == EntryType.MEMBERSHIP)
            {
                return at + Membership.decode(entry.payload());
            }
            final KvCommand command = KvCommand.decode(entry.payload());
            return at + command.kind().name().toLowerCase(Locale.ROOT) + " " + command.key() +
                (command.value() == null ? "" : "=" + command.value());
        }

        private static String describe(final RaftMessage message)
        {
            final String head = message.from() + "->" + message.to() + " " + MessageType.of(message).scriptName() + " term=" +
                message.term();
            if (message instanceof AppendEntriesRequest a)
            {
                final String entries = a.entries().toList().stream().map(e -> id(e.logId())).collect(Collectors.joining(","));
                return head + " prev=" + id(a.prevLogId()) + " commit=" + a.leaderCommit() + " entries=[" + entries + "]";
            }
            if (message instanceof AppendEntriesResponse r)
            {
                return head + (r.success() ? " ok match=" + r.matchIndex() : " reject conflict=" + r.conflictTerm() + "/" +
                    r.conflictIndex());
            }
            if (message instanceof VoteRequest v)
            {
                return head + " last=" + id(v.lastLogId()) + (v.transfer() ? " transfer" : "");
            }
            if (message instanceof VoteResponse v)
            {
                return head + (v.granted() ? " granted" : " rejected");
            }
            if (message instanceof InstallSnapshotRequest s)
            {
                return head + " snapshot=" + id(s.meta().lastIncluded()) + " offset=" + s.offset() + " bytes=" + s.chunk().length +
                    (s.done() ? " done" : "");
            }
            if (message instanceof InstallSnapshotResponse s)
            {
                return head + " next=" + s.nextOffset() + (s.done() ? " done" : "");
            }
            return head;
        }
    }

    /** Which held messages a command means. */
    private static final class Selection
    {
        private long from;
        private long to;
        private MessageType type;
        private int entries = -1;
        private int count = Integer.MAX_VALUE;

        private boolean matches(final RaftMessage message)
        {
            return (from == 0 || message.from() == from) && (to == 0 || message.to() == to) &&
                (type == null || MessageType.of(message) == type);
        }
    }
}
