package io.ringraft.testkit.sim;

import io.ringraft.Membership;
import io.ringraft.Vote;
import io.ringraft.engine.EngineConfig;
import io.ringraft.engine.Role;
import io.ringraft.engine.TestControl;
import io.ringraft.network.RaftMessage;
import io.ringraft.testkit.history.CheckResult;
import io.ringraft.testkit.history.History;
import io.ringraft.testkit.history.LinearizabilityChecker;

import org.agrona.collections.Long2ObjectHashMap;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.stream.LongStream;

/**
 * A cluster of Raft nodes on a simulated network, in one thread, in simulated time: the harness
 * that tests and users drive directly (like openraft's test router or etcd-raft's network
 * helper), and the core of the randomized {@link Simulation}.
 * <pre>{@code
 * SimCluster cluster = SimCluster.builder().nodes(3).seed(42).build();
 * long leader = cluster.awaitLeader(2_000);
 * cluster.isolate(leader);
 * cluster.runUntil(() -> cluster.leader() != leader && cluster.leader() != 0, 2_000);
 * SimOp put = cluster.client().put("k", "v");
 * cluster.runUntil(put::isDone, 2_000);
 * }</pre>
 * One seed drives everything: message delays, loss and duplication, flush delays, clock drift,
 * each node's engine randomness, and the clients' choices; the same seed and the same calls give
 * the same run. After every event the {@link InvariantChecker} checks every live node; a
 * violation, or an exception thrown by a node, becomes a {@link SimulationFailure} that carries
 * the seed, the node states and the last events.
 */
public final class SimCluster
{
    private final long seed;
    private final SplittableRandom random;
    private final SimScheduler scheduler = new SimScheduler();
    private final SimNode[] nodes;
    private final long[] wakeupAt;
    private final SimNetwork network;
    private final InvariantChecker checker;
    private final SimTrace trace;
    private final History history = new History();
    private final List<SimClient> clients = new ArrayList<>();
    private final List<LeaderListener> leaderListeners = new ArrayList<>();
    private final Long2ObjectHashMap<AdminOutcome> adminOutcomes = new Long2ObjectHashMap<>();
    private final long flushDelayMinNanos;
    private final long flushDelayMaxNanos;
    private final long clientTimeoutNanos;
    private final long electionTimeoutMaxNanos;
    private final long longestElectionTimerNanos;
    private long readIds;
    private long requestIds;
    private long maxAcknowledgedIndex;
    private int acknowledged;
    private long truncatedEntries;
    private long leaseReadsServed;
    private long followerReads;
    private SimulationFailure failure;

    private SimCluster(final Builder builder)
    {
        this.seed = builder.seed;
        this.random = new SplittableRandom(builder.seed);
        this.trace = new SimTrace(builder.traceCapacity);
        this.flushDelayMinNanos = builder.flushDelayMinNanos;
        this.flushDelayMaxNanos = builder.flushDelayMaxNanos;
        this.clientTimeoutNanos = builder.clientTimeoutNanos;
        this.nodes = new SimNode[builder.nodes + 1];
        this.wakeupAt = new long[builder.nodes + 1];
        this.network = new SimNetwork(this, builder.nodes, builder.networkDelayMinNanos, builder.networkDelayMaxNanos);
        long electionMax = 0;
        long longestTimer = 0;
        for (int id = 1; id <= builder.nodes; id++)
        {
            final EngineConfig config = new EngineConfig().nodeId(id);
            builder.engineConfig.accept(config);
            builder.nodeConfig.configure(id, config);
            config.nodeId(id).testControl(new TestControl()).validate();
            electionMax = Math.max(electionMax, config.electionTimeoutMaxNanos());
            // A timer set just before the faults end: the backed-off timeout plus the most patience (twice its cap).
            longestTimer = Math.max(longestTimer, (config.electionTimeoutMaxNanos() << config.electionBackoffLimit()) +
                4 * config.electionTimeoutMaxNanos());
            final double drift = builder.maxClockDrift == 0 ? 0 : (random.nextDouble() * 2 - 1) * builder.maxClockDrift;
            final long offset = random.nextLong(1L << 40);
            nodes[id] = builder.runtime ?
                new RuntimeSimNode(this, id, config, offset, 1 + drift, builder.snapshotEvery, builder.snapshotChunkBytes,
                    builder.runtimeAckBeforeDurable) :
                new EngineSimNode(this, id, config, offset, 1 + drift, builder.snapshotEvery, builder.snapshotChunkBytes);
            wakeupAt[id] = Long.MAX_VALUE;
        }
        this.electionTimeoutMaxNanos = electionMax;
        this.longestElectionTimerNanos = longestTimer;
        this.checker = new InvariantChecker(nodes, builder.disabledChecks);
        final long[] voters = builder.initialVoters != null ? builder.initialVoters :
            LongStream.rangeClosed(1, builder.nodes).toArray();
        for (final long voter : voters)
        {
            node(voter);
        }
        final Membership membership = Membership.of(voters);
        guarded(() ->
        {
            for (int id = 1; id <= builder.nodes; id++)
            {
                final NodeState state = builder.initialStates.get((long)id);
                if (state != null)
                {
                    trace(id, "start", "from a hand-built state");
                    nodes[id].seed(state, membership);
                    nodes[id].restart(nowNanos());
                    continue;
                }
                final boolean founder = builder.initialize && membership.contains(id);
                trace(id, "start", founder ? membership.toString() : "uninitialized");
                nodes[id].start(founder ? membership : null, nowNanos());
            }
            checker.afterStep();
            scheduleWakeups();
        });
    }

    /** @return a builder of a cluster */
    public static Builder builder()
    {
        return new Builder();
    }

    /** @return the seed */
    public long seed()
    {
        return seed;
    }

    /** @return how many nodes; their ids are 1..size */
    public int size()
    {
        return nodes.length - 1;
    }

    /** @return the simulated time, in nanoseconds since the start */
    public long nowNanos()
    {
        return scheduler.now();
    }

    /** @return the simulated time, in milliseconds since the start */
    public long nowMillis()
    {
        return scheduler.now() / 1_000_000L;
    }

    /** @return how many events ran */
    public long events()
    {
        return scheduler.events();
    }

    /** @return the node with that id */
    public SimNode node(final long id)
    {
        if (id < 1 || id >= nodes.length)
        {
            throw new IllegalArgumentException("no node " + id + " in a cluster of " + size());
        }
        return nodes[(int)id];
    }

    /** @return the metrics of one node */
    public NodeMetrics metrics(final long id)
    {
        return node(id).metrics();
    }

    /** @return the metrics of every node, by id */
    public List<NodeMetrics> metrics()
    {
        final List<NodeMetrics> all = new ArrayList<>(size());
        for (int id = 1; id < nodes.length; id++)
        {
            all.add(nodes[id].metrics());
        }
        return all;
    }

    /** @return the simulated network, for finer fault control */
    public SimNetwork network()
    {
        return network;
    }

    /** @return the invariant checker */
    public InvariantChecker checker()
    {
        return checker;
    }

    /** @return every client operation so far */
    public History history()
    {
        return history;
    }

    /** @return the event trace */
    public SimTrace trace()
    {
        return trace;
    }

    /** @return the highest log index of a write acknowledged OK to a client */
    public long maxAcknowledgedIndex()
    {
        return maxAcknowledgedIndex;
    }

    /** @return how many writes were acknowledged OK */
    public int acknowledgedWrites()
    {
        return acknowledged;
    }

    /** @return how many log entries followers removed as conflicting */
    public long truncatedEntries()
    {
        return truncatedEntries;
    }

    /** @return how many lease reads a leader served from its lease, without a round trip */
    public long leaseReadsServed()
    {
        return leaseReadsServed;
    }

    /** @return how many ReadIndex reads completed OK on a node that was not the leader (follower reads) */
    public long followerReads()
    {
        return followerReads;
    }

    /**
     * @return the longest an election timer of a node may run: the largest election timeout
     *         backed off as far as its config allows, plus the most patience for slow links
     */
    public long longestElectionTimerNanos()
    {
        return longestElectionTimerNanos;
    }

    /** @return the largest election timeout of the nodes' configs */
    public long electionTimeoutMaxNanos()
    {
        return electionTimeoutMaxNanos;
    }

    /**
     * @return the live leader with the highest term, or {@link Vote#NO_NODE} if no live node is leader
     */
    public long leader()
    {
        long leader = Vote.NO_NODE;
        long term = -1;
        for (int id = 1; id < nodes.length; id++)
        {
            final SimNode node = nodes[id];
            if (node.isUp() && node.role() == Role.LEADER && node.currentTerm() > term)
            {
                leader = id;
                term = node.currentTerm();
            }
        }
        return leader;
    }

    /**
     * Runs until some node is leader.
     *
     * @param timeoutMillis the most simulated time to wait
     * @return the leader
     * @throws SimulationFailure if none is elected in time
     */
    public long awaitLeader(final long timeoutMillis)
    {
        if (!runUntil(() -> leader() != Vote.NO_NODE, timeoutMillis))
        {
            throw failure("no leader elected within " + timeoutMillis + " ms", null);
        }
        return leader();
    }

    /** @return a new client, with the next client id */
    public SimClient client()
    {
        final SimClient client = new SimClient(this, clients.size() + 1, clientTimeoutNanos);
        clients.add(client);
        return client;
    }

    /**
     * A PUT through the first client (created on first use).
     *
     * @param key   the key
     * @param value the value
     * @return the operation; run until it is done
     */
    public SimOp write(final String key, final String value)
    {
        return defaultClient().put(key, value);
    }

    /**
     * A linearizable GET (ReadIndex) through the first client.
     *
     * @param key the key
     * @return the operation; run until it is done
     */
    public SimOp read(final String key)
    {
        return defaultClient().read(key);
    }

    /**
     * Registers a listener told of every election won, as it happens (inside the node's step: it
     * may schedule events and change faults, but must not drive a node).
     *
     * @param listener told the new leader and its term
     */
    public void onLeaderElected(final LeaderListener listener)
    {
        leaderListeners.add(listener);
    }

    /** Cuts every link to and from a node. */
    public void isolate(final long id)
    {
        trace(id, "isolate", null);
        for (int other = 1; other < nodes.length; other++)
        {
            if (other != id)
            {
                network.cut(id, other);
                network.cut(other, id);
            }
        }
    }

    /**
     * Splits the cluster: nodes in different groups cannot talk to each other, both ways; a node
     * in no group is cut from everyone.
     *
     * @param groups the sides of the partition
     */
    public void partition(final long[]... groups)
    {
        final int[] side = new int[nodes.length];
        Arrays.fill(side, -1);
        for (int g = 0; g < groups.length; g++)
        {
            for (final long id : groups[g])
            {
                side[(int)node(id).id()] = g;
            }
        }
        final StringBuilder sb = new StringBuilder();
        for (final long[] group : groups)
        {
            sb.append(Arrays.toString(group));
        }
        trace(0, "partition", sb.toString());
        for (int a = 1; a < nodes.length; a++)
        {
            for (int b = 1; b < nodes.length; b++)
            {
                if (a != b && (side[a] != side[b] || side[a] < 0))
                {
                    network.cut(a, b);
                }
            }
        }
    }

    /** Cuts the link from {@code from} to {@code to} only (one way). */
    public void cut(final long from, final long to)
    {
        trace(0, "cut", from + "->" + to);
        network.cut(node(from).id(), node(to).id());
    }

    /** Restores every link and removes message filters (held messages stay held). */
    public void heal()
    {
        trace(0, "heal", null);
        network.healLinks();
    }

    /** Restores every link, and only the links: drop, hold and rewrite filters stay. */
    public void restoreLinks()
    {
        trace(0, "restoreLinks", null);
        network.restoreLinks();
    }

    /**
     * Drops every message the filter accepts until {@link SimNetwork#removeFilter} or {@link #heal()}.
     *
     * @param filter which messages to drop, e.g. {@code m -> m instanceof VoteRequest}
     * @return the filter
     */
    public Predicate<RaftMessage> dropMessages(final Predicate<RaftMessage> filter)
    {
        return network.drop(filter);
    }

    /**
     * Holds back every message the filter accepts until {@link #releaseHeld()}.
     *
     * @param filter which messages to hold
     * @return the filter
     */
    public Predicate<RaftMessage> holdMessages(final Predicate<RaftMessage> filter)
    {
        return network.hold(filter);
    }

    /** Sends every held message now. */
    public void releaseHeld()
    {
        guarded(network::releaseHeld);
    }

    /**
     * Crashes a node: it loses what it had not flushed.
     *
     * @throws IllegalStateException if it is down already
     */
    public void crash(final long id)
    {
        final SimNode node = node(id);
        if (!node.isUp())
        {
            throw new IllegalStateException("node " + id + " is already down");
        }
        trace(id, "crash", "durable last " + node.log().durableLastLogId());
        guarded(node::crash);
        wakeupAt[(int)id] = Long.MAX_VALUE;
    }

    /**
     * Replaces the disk of a crashed node: its log, vote and snapshots are gone. Restart it with
     * {@link #restart}: it comes back empty and uninitialized, as a new machine with the old id
     * (a leader that still counts it sends it everything again). What a quorum acknowledged can
     * then be lost if it was durable only on this node and a minority: the checker says so.
     *
     * @throws IllegalStateException if it is up
     */
    public void replaceDisk(final long id)
    {
        final SimNode node = node(id);
        trace(id, "replaceDisk", "log " + node.log().lastLogId() + " vote " + node.log().readVote());
        node.replaceDisk();
        checker.onDiskReplaced(node);
    }

    /**
     * Restarts a crashed node from its durable vote and log, with an empty state machine.
     *
     * @throws IllegalStateException if it is up
     */
    public void restart(final long id)
    {
        final SimNode node = node(id);
        if (node.isUp())
        {
            throw new IllegalStateException("node " + id + " is up");
        }
        trace(id, "restart", "log " + node.log().lastLogId() + " vote " + node.log().readVote());
        guarded(() ->
        {
            node.restart(nowNanos());
            checker.onRestart(node);
            checker.afterStep();
            scheduleWakeups();
        });
    }

    /** Makes a node start an election now, without pre-vote (an operator forcing it). */
    public void triggerElection(final long id)
    {
        trace(id, "triggerElection", null);
        inStep(() -> node(id).triggerElection(nowNanos()));
    }

    /**
     * Makes a node's election timer expire now: it stands as on a timeout, with pre-vote if its
     * config has it (unlike {@link #triggerElection}). A leader ignores it.
     */
    public void expireElectionTimer(final long id)
    {
        trace(id, "expireElectionTimer", null);
        final SimNode node = node(id);
        node.testControl().expireElectionTimer();
        inStep(() -> node.tick(nowNanos()));
    }

    /**
     * Switches a node's election timer: off, the node never stands by itself (only when a test
     * triggers or expires its timer, or a leader transfer asks).
     */
    public void electionTimer(final long id, final boolean enabled)
    {
        trace(id, "electionTimer", enabled ? "on" : "off");
        node(id).testControl().electionTimer(enabled);
        inStep(() -> { });
    }

    /** Switches a node's periodic heartbeats (while it leads): off, it sends only what it replicates. */
    public void heartbeats(final long id, final boolean enabled)
    {
        trace(id, "heartbeats", enabled ? "on" : "off");
        node(id).testControl().heartbeats(enabled);
        inStep(() -> { });
    }

    /**
     * Makes a node purge its log up to {@code upToIndex}, clipped to its latest snapshot (build one
     * first with {@link #buildSnapshot}); a follower that then needs a purged entry gets the snapshot.
     */
    public void purgeLog(final long id, final long upToIndex)
    {
        trace(id, "purgeLog", upToIndex);
        final SimNode node = node(id);
        node.testControl().purgeLog(upToIndex);
        inStep(() -> node.tick(nowNanos()));
    }

    /**
     * A PUT sent to one chosen node only, inside a checked step: the node takes it (or refuses it)
     * before this returns, and the client never retries elsewhere: a refusal ends it FAIL.
     *
     * @return the operation (recorded in the history)
     */
    public SimOp writeTo(final long id, final String key, final String value)
    {
        final SimOp[] op = new SimOp[1];
        inStep(() -> op[0] = pinnedClient(id).put(key, value));
        return op[0];
    }

    /**
     * A linearizable read (ReadIndex) on one chosen node only, inside a checked step, never retried
     * elsewhere.
     *
     * @return the operation (recorded in the history)
     */
    public SimOp readAt(final long id, final String key)
    {
        final SimOp[] op = new SimOp[1];
        inStep(() -> op[0] = pinnedClient(id).read(key));
        return op[0];
    }

    /**
     * A lease read on one chosen node only, inside a checked step, never retried elsewhere.
     *
     * @return the operation (recorded in the history)
     */
    public SimOp leaseReadAt(final long id, final String key)
    {
        final SimOp[] op = new SimOp[1];
        inStep(() -> op[0] = pinnedClient(id).leaseRead(key));
        return op[0];
    }

    private SimClient pinnedClient(final long id)
    {
        final SimClient client = new SimClient(this, clients.size() + 1, clientTimeoutNanos);
        clients.add(client);
        return client.pin(node(id).id());
    }

    /** Runs an action on the nodes as one checked step: the checks run after it and the timers are rescheduled. */
    private void inStep(final Runnable action)
    {
        guarded(() ->
        {
            action.run();
            checker.afterStep();
            scheduleWakeups();
        });
    }

    /**
     * Asks a leader to hand leadership to {@code target}.
     *
     * @return the request id, whose outcome {@link #adminOutcome(long)} gives once known
     */
    public long transferLeader(final long id, final long target)
    {
        trace(id, "transferLeader", "to " + target);
        return transfer(id, target, 10 * electionTimeoutMaxNanos);
    }

    /**
     * Asks a leader to hand leadership to {@code target}, giving up after {@code timeoutMillis}.
     *
     * @return the request id, whose outcome {@link #adminOutcome(long)} gives once known
     */
    public long transferLeader(final long id, final long target, final long timeoutMillis)
    {
        trace(id, "transferLeader", "to " + target + " within " + timeoutMillis + "ms");
        return transfer(id, target, TimeUnit.MILLISECONDS.toNanos(timeoutMillis));
    }

    private long transfer(final long id, final long target, final long timeoutNanos)
    {
        final long[] requestId = new long[1];
        inStep(() -> requestId[0] = node(id).transferLeader(target, timeoutNanos, nowNanos()));
        return requestId[0];
    }

    /**
     * Asks a leader to add a node as a learner (it then replicates, and can become a voter).
     *
     * @return the request id, whose outcome {@link #adminOutcome(long)} gives once known
     */
    public long addLearner(final long id, final long learner)
    {
        trace(id, "addLearner", learner);
        final long[] requestId = new long[1];
        inStep(() -> requestId[0] = node(id).addLearner(learner, nowNanos()));
        return requestId[0];
    }

    /**
     * Asks a leader to change the voters by joint consensus.
     *
     * @return the request id, whose outcome {@link #adminOutcome(long)} gives once known
     */
    public long changeMembership(final long id, final long[] newVoters, final boolean retainRemovedAsLearners)
    {
        trace(id, "changeMembership", Arrays.toString(newVoters) + (retainRemovedAsLearners ? " retaining" : ""));
        final long[] requestId = new long[1];
        inStep(() -> requestId[0] = node(id).changeMembership(newVoters, retainRemovedAsLearners, nowNanos()));
        return requestId[0];
    }

    /**
     * @param requestId an administration request's id
     * @return its outcome, or null while unknown
     */
    public AdminOutcome adminOutcome(final long requestId)
    {
        return adminOutcomes.get(requestId);
    }

    /** Makes a node snapshot its state machine now (it may then purge its log). */
    public void buildSnapshot(final long id)
    {
        inStep(() -> node(id).buildSnapshot(nowNanos()));
    }

    /** Makes a leader send heartbeats now. */
    public void triggerHeartbeat(final long id)
    {
        trace(id, "triggerHeartbeat", null);
        inStep(() -> node(id).triggerHeartbeat(nowNanos()));
    }

    /**
     * Runs every event up to {@code millis} of simulated time from now.
     *
     * @param millis how far to advance the clock
     */
    public void advance(final long millis)
    {
        advanceNanos(TimeUnit.MILLISECONDS.toNanos(millis));
    }

    /**
     * Runs every event up to {@code nanos} of simulated time from now.
     *
     * @param nanos how far to advance the clock
     */
    public void advanceNanos(final long nanos)
    {
        final long until = nowNanos() + nanos;
        while (scheduler.hasEventBy(until))
        {
            step();
        }
        scheduler.advanceTo(until);
    }

    /**
     * Runs events until the condition holds (checked before each event) or the time is up.
     *
     * @param condition     what to wait for
     * @param timeoutMillis the most simulated time to run
     * @return true if the condition holds
     */
    public boolean runUntil(final BooleanSupplier condition, final long timeoutMillis)
    {
        final long until = nowNanos() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (!condition.getAsBoolean())
        {
            if (!scheduler.hasEventBy(until))
            {
                scheduler.advanceTo(until);
                return condition.getAsBoolean();
            }
            step();
        }
        return true;
    }

    /**
     * Checks the history of every client operation so far for linearizability.
     *
     * @param budgetStepsPerKey the search budget per key
     * @return the verdict
     */
    public CheckResult checkLinearizability(final long budgetStepsPerKey)
    {
        return LinearizabilityChecker.check(history, budgetStepsPerKey);
    }

    /**
     * @param reason what went wrong
     * @param cause  the exception, or null
     * @return a failure carrying the seed, the node states and the last events
     */
    public SimulationFailure failure(final String reason, final Throwable cause)
    {
        final StringBuilder states = new StringBuilder();
        for (int id = 1; id < nodes.length; id++)
        {
            try
            {
                states.append(nodes[id].metrics()).append('\n');
            }
            catch (final RuntimeException ex)
            {
                states.append("N").append(id).append(" metrics unavailable: ").append(ex).append('\n');
            }
        }
        states.append(String.format("t=%.3fms events=%d network sent=%d delivered=%d dropped=%d duplicated=%d%n",
            nowNanos() / 1e6, events(), network.sent(), network.delivered(), network.dropped(), network.duplicated()));
        return new SimulationFailure(seed, reason, states.toString(), trace.dump(), cause);
    }

    /**
     * Runs one event.
     *
     * @return false if there was none
     */
    public boolean step()
    {
        final Runnable action = scheduler.next();
        if (action == null)
        {
            return false;
        }
        inStep(action);
        return true;
    }

    SplittableRandom random()
    {
        return random;
    }

    void trace(final long node, final String kind, final Object detail)
    {
        trace.record(nowNanos(), node, kind, detail);
    }

    long nextReadId()
    {
        return ++readIds;
    }

    void schedule(final long time, final Runnable action)
    {
        scheduler.schedule(time, action);
    }

    void scheduleDelivery(final long delayNanos, final RaftMessage message)
    {
        schedule(nowNanos() + delayNanos, () ->
        {
            final SimNode target = nodes[(int)message.to()];
            if (!target.isUp())
            {
                trace(message.to(), "lost-down", message);
                return;
            }
            if (!network.deliverable(message))
            {
                trace(message.to(), "lost-cut", message);
                return;
            }
            trace(message.to(), "recv", message);
            target.deliver(message, nowNanos());
        });
    }

    long nextRequestId()
    {
        return ++requestIds;
    }

    void scheduleFlush(final SimNode node)
    {
        final long delay = flushDelayMinNanos + random.nextLong(flushDelayMaxNanos - flushDelayMinNanos + 1);
        scheduleNodeEvent(node, delay, () -> node.flush(nowNanos()));
    }

    void scheduleSnapshot(final SimNode node)
    {
        scheduleNodeEvent(node, random.nextLong(100_000L, 5_000_000L), () -> node.buildSnapshot(nowNanos()));
    }

    /** Schedules what a node's runtime completes asynchronously; a crash in between cancels it. */
    private void scheduleNodeEvent(final SimNode node, final long delayNanos, final Runnable action)
    {
        final int crashes = node.crashes();
        schedule(nowNanos() + delayNanos, () ->
        {
            if (node.isUp() && node.crashes() == crashes)
            {
                action.run();
            }
        });
    }

    void leaderElected(final long id, final long term)
    {
        for (int i = 0; i < leaderListeners.size(); i++)
        {
            leaderListeners.get(i).elected(id, term);
        }
    }

    void countTruncation(final long entries)
    {
        truncatedEntries += Math.max(0, entries);
    }

    void onLeaseReadServed()
    {
        leaseReadsServed++;
    }

    void onFollowerRead()
    {
        followerReads++;
    }

    void onAdminOutcome(final AdminOutcome outcome)
    {
        adminOutcomes.put(outcome.requestId(), outcome);
    }

    void onAcknowledged(final SimOp op)
    {
        acknowledged++;
        maxAcknowledgedIndex = Math.max(maxAcknowledgedIndex, op.index());
    }

    private SimClient defaultClient()
    {
        return clients.isEmpty() ? client() : clients.get(0);
    }

    private void scheduleWakeups()
    {
        for (int id = 1; id < nodes.length; id++)
        {
            final SimNode node = nodes[id];
            if (!node.isUp())
            {
                continue;
            }
            final long wakeup = node.nextWakeup();
            if (wakeup < wakeupAt[id])
            {
                // A deadline already due still moves time forward, so a timer that stays due cannot spin.
                final long at = Math.max(wakeup, nowNanos() + 1_000);
                wakeupAt[id] = wakeup;
                final int crashes = node.crashes();
                final int nodeId = id;
                schedule(at, () ->
                {
                    if (wakeupAt[nodeId] == wakeup && node.isUp() && node.crashes() == crashes)
                    {
                        wakeupAt[nodeId] = Long.MAX_VALUE;
                        node.tick(nowNanos());
                    }
                });
            }
        }
    }

    private void guarded(final Runnable action)
    {
        if (failure != null)
        {
            throw failure;
        }
        try
        {
            action.run();
        }
        catch (final SimulationFailure ex)
        {
            failure = ex;
            throw ex;
        }
        catch (final InvariantViolation ex)
        {
            failure = failure(ex.getMessage(), null);
            throw failure;
        }
        catch (final RuntimeException | AssertionError ex)
        {
            failure = failure("node threw " + ex, ex);
            throw failure;
        }
    }

    /** Adjusts the engine config of one node. */
    @FunctionalInterface
    public interface NodeConfigurer
    {
        /**
         * @param nodeId the node
         * @param config its config, to adjust
         */
        void configure(long nodeId, EngineConfig config);
    }

    /** Told of each election won. */
    @FunctionalInterface
    public interface LeaderListener
    {
        /**
         * @param leaderId the new leader
         * @param term     its term
         */
        void elected(long leaderId, long term);
    }

    /** Settings of a {@link SimCluster}; every setting has a default. */
    public static final class Builder
    {
        private int nodes = 3;
        private long seed = 1;
        private Consumer<EngineConfig> engineConfig = config -> { };
        private NodeConfigurer nodeConfig = (id, config) -> { };
        private final Map<Long, NodeState> initialStates = new HashMap<>();
        private final EnumSet<InvariantChecker.Check> disabledChecks = EnumSet.noneOf(InvariantChecker.Check.class);
        private long networkDelayMinNanos = TimeUnit.MICROSECONDS.toNanos(500);
        private long networkDelayMaxNanos = TimeUnit.MILLISECONDS.toNanos(5);
        private long flushDelayMinNanos = TimeUnit.MICROSECONDS.toNanos(100);
        private long flushDelayMaxNanos = TimeUnit.MILLISECONDS.toNanos(2);
        private long clientTimeoutNanos = TimeUnit.MILLISECONDS.toNanos(1_000);
        private double maxClockDrift = 0.01;
        private int traceCapacity = 200;
        private boolean initialize = true;
        private long snapshotEvery;
        private int snapshotChunkBytes = 256;
        private long[] initialVoters;
        private boolean runtime;
        private boolean runtimeAckBeforeDurable;

        private Builder()
        {
        }

        /** @param count how many nodes (ids 1..count), 1 to 9 */
        public Builder nodes(final int count)
        {
            if (count < 1 || count > 9)
            {
                throw new IllegalArgumentException("nodes must be in 1..9: " + count);
            }
            this.nodes = count;
            return this;
        }

        /** @param seed the one seed that drives the run */
        public Builder seed(final long seed)
        {
            this.seed = seed;
            return this;
        }

        /**
         * @param customizer adjusts every node's engine config (timeouts, pre-vote, a planted bug);
         *                   the node id is set by the cluster
         */
        public Builder engineConfig(final Consumer<EngineConfig> customizer)
        {
            this.engineConfig = customizer;
            return this;
        }

        /**
         * @param configurer adjusts one node's engine config, told which node (after {@link #engineConfig}):
         *                   e.g. a planted bug or a longer election timeout on one node only
         */
        public Builder nodeConfig(final NodeConfigurer configurer)
        {
            this.nodeConfig = configurer;
            return this;
        }

        /**
         * Starts a node from a hand-built durable state (vote, log, snapshot) instead of empty.
         *
         * @param id    the node
         * @param state its state
         */
        public Builder initialState(final long id, final NodeState state)
        {
            if (id < 1)
            {
                throw new IllegalArgumentException("initialState: no node " + id);
            }
            initialStates.put(id, state);
            return this;
        }

        /**
         * Switches checks of the {@link InvariantChecker} off, e.g. to let a planted bug show its
         * consequence rather than be named at once.
         *
         * @param checks the checks to leave out
         */
        public Builder disableChecks(final InvariantChecker.Check... checks)
        {
            disabledChecks.addAll(Arrays.asList(checks));
            return this;
        }

        /** @param minMicros the shortest message delay; @param maxMicros the longest */
        public Builder networkDelayMicros(final long minMicros, final long maxMicros)
        {
            if (minMicros < 0 || maxMicros < minMicros)
            {
                throw new IllegalArgumentException("network delay bounds must satisfy 0 <= min <= max: " + minMicros + ", " + maxMicros);
            }
            this.networkDelayMinNanos = TimeUnit.MICROSECONDS.toNanos(minMicros);
            this.networkDelayMaxNanos = TimeUnit.MICROSECONDS.toNanos(maxMicros);
            return this;
        }

        /** @param minMicros the shortest delay from append to flush; @param maxMicros the longest */
        public Builder flushDelayMicros(final long minMicros, final long maxMicros)
        {
            if (minMicros < 0 || maxMicros < minMicros)
            {
                throw new IllegalArgumentException("flush delay bounds must satisfy 0 <= min <= max: " + minMicros + ", " + maxMicros);
            }
            this.flushDelayMinNanos = TimeUnit.MICROSECONDS.toNanos(minMicros);
            this.flushDelayMaxNanos = TimeUnit.MICROSECONDS.toNanos(maxMicros);
            return this;
        }

        /** @param millis how long a client waits for an operation before giving up on it */
        public Builder clientTimeoutMillis(final long millis)
        {
            if (millis <= 0)
            {
                throw new IllegalArgumentException("client timeout must be positive: " + millis);
            }
            this.clientTimeoutNanos = TimeUnit.MILLISECONDS.toNanos(millis);
            return this;
        }

        /** @param fraction the most a node's clock runs fast or slow, e.g. 0.01 for 1% */
        public Builder maxClockDrift(final double fraction)
        {
            if (!(fraction >= 0 && fraction < 0.5))
            {
                throw new IllegalArgumentException("maxClockDrift must be in [0, 0.5): " + fraction);
            }
            this.maxClockDrift = fraction;
            return this;
        }

        /** @param events how many of the last events a failure report shows */
        public Builder traceCapacity(final int events)
        {
            this.traceCapacity = events;
            return this;
        }

        /**
         * @param voters the voters of the initial membership (default: every node); the other nodes
         *               start uninitialized, to be added later with {@link SimCluster#addLearner}
         */
        public Builder initialVoters(final long... voters)
        {
            this.initialVoters = voters.clone();
            return this;
        }

        /** @param initialize false to start the nodes uninitialized (no membership) */
        public Builder initialize(final boolean initialize)
        {
            this.initialize = initialize;
            return this;
        }

        /**
         * @param check false to leave out the leader commit-rule check (Raft §5.4.2), so that a
         *              commit of an older term's entry shows its consequence (Figure 8) instead
         */
        public Builder checkCommitRule(final boolean check)
        {
            if (check)
            {
                disabledChecks.remove(InvariantChecker.Check.COMMIT_RULE);
            }
            else
            {
                disabledChecks.add(InvariantChecker.Check.COMMIT_RULE);
            }
            return this;
        }

        /**
         * @param entries snapshot a node's state machine whenever it applied this many entries since its
         *                latest snapshot (the engine then purges the log behind it); 0 never
         */
        public Builder snapshotEvery(final long entries)
        {
            if (entries < 0)
            {
                throw new IllegalArgumentException("snapshotEvery must be >= 0: " + entries);
            }
            this.snapshotEvery = entries;
            return this;
        }

        /** @param bytes the largest snapshot chunk a leader sends in one message */
        public Builder snapshotChunkBytes(final int bytes)
        {
            if (bytes < 1)
            {
                throw new IllegalArgumentException("snapshotChunkBytes must be positive: " + bytes);
            }
            this.snapshotChunkBytes = bytes;
            return this;
        }

        /**
         * @param realRuntime true to run each node as the real runtime ({@link RuntimeSimNode}: {@code Raft}
         *                    in INVOKER mode) instead of the bare engine ({@link EngineSimNode}); a planted bug
         *                    and the test switches of the engine config reach the runtime too
         */
        public Builder runtime(final boolean realRuntime)
        {
            this.runtime = realRuntime;
            return this;
        }

        /**
         * Plants a storage bug under the runtime: its log flush reports everything appended as durable at
         * once, though a crash still loses it (for a test that the checks catch it).
         */
        Builder runtimeAckBeforeDurable()
        {
            this.runtimeAckBeforeDurable = true;
            return this;
        }

        /** @return the cluster, started */
        public SimCluster build()
        {
            for (final long id : initialStates.keySet())
            {
                if (id > nodes)
                {
                    throw new IllegalArgumentException("initialState: no node " + id + " in a cluster of " + nodes);
                }
            }
            return new SimCluster(this);
        }
    }
}
