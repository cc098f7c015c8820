package io.ringraft.testkit.sim;

import io.ringraft.AdminStatus;
import io.ringraft.Membership;
import io.ringraft.Vote;
import io.ringraft.engine.EngineConfig;
import io.ringraft.network.AppendEntriesRequest;
import io.ringraft.network.AppendEntriesResponse;
import io.ringraft.network.RaftMessage;
import io.ringraft.network.VoteRequest;
import io.ringraft.network.VoteResponse;
import io.ringraft.testkit.history.CheckResult;
import io.ringraft.testkit.history.Operation;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.stream.LongStream;

/**
 * One randomized simulated run per seed (FoundationDB / TigerBeetle style): a {@link SimCluster}
 * with clients issuing key-value operations on a few keys, and a fault schedule: during the chaos
 * phase the network loses, duplicates, delays and reorders messages, partitions come and go (both
 * ways and one way), nodes crash (losing what they had not flushed) and restart; then a quiet
 * phase heals everything and restarts every node.
 * <p>
 * The run fails with a {@link SimulationFailure} if an invariant breaks at any step, if a node
 * throws, if the quiet phase does not elect a leader and apply every acknowledged write on every
 * node within {@link Options#livenessElectionTimeouts} election timeouts, or if the client history
 * is not linearizable. {@link #run(long)} with the same seed and options replays the run exactly.
 */
public final class Simulation
{
    private final Options options;

    /**
     * @param options how the runs are shaped
     */
    public Simulation(final Options options)
    {
        this.options = options;
    }

    /** @return the options */
    public Options options()
    {
        return options;
    }

    /**
     * Runs one seed.
     *
     * @param seed the seed
     * @return what the run did, if it passed (an undecided linearizability check passes here and
     *         is reported in the result)
     * @throws SimulationFailure if it failed
     */
    public Result run(final long seed)
    {
        // The engine profile comes from the seed too, so one seed still names the whole run.
        final SplittableRandom profile = new SplittableRandom(seed ^ 0x5DEECE66DL);
        final int maxEntriesPerAppend = new int[] {1, 2, 3, 8, 64, 1024}[profile.nextInt(6)];
        final int maxInflightAppends = new int[] {1, 2, 8, 64}[profile.nextInt(4)];
        final boolean preVote = profile.nextInt(4) != 0;
        final boolean checkQuorum = profile.nextInt(4) != 0;
        final long snapshotEvery = options.varyEngineConfig ? new long[] {0, 0, 8, 20, 50}[profile.nextInt(5)] : 0;
        final long logRetain = new long[] {0, 1, 4, 16}[profile.nextInt(4)];
        final int chunkBytes = new int[] {16, 64, 4096}[profile.nextInt(3)];
        final boolean membershipChanges = options.membershipChanges &&
            (options.adminWorkload ? profile.nextInt(4) != 0 : profile.nextBoolean());
        final long[] initialVoters = membershipChanges && options.nodes >= 5 && profile.nextBoolean() ?
            new long[] {1, 2, 3} : LongStream.rangeClosed(1, options.nodes).toArray();
        // Clocks drift apart by at most the configured bound over an election timeout, so leases stay sound (the
        // engine's lease assumes it); a seed picks how fast clocks drift and how much margin the bound leaves.
        final double driftShare = new double[] {0, 0.5, 1, 1}[profile.nextInt(4)];
        final double clockDrift = options.maxClockDrift * (options.adminWorkload ? driftShare : 1);
        final long driftMarginNanos = new long[] {500_000L, 2_000_000L, 10_000_000L}[profile.nextInt(3)];
        final EngineConfig probe = new EngineConfig();
        options.engineConfig.accept(probe);
        final long maxClockDriftNanos = options.adminWorkload ? Math.min(probe.electionTimeoutMinNanos() - 1,
            leaseDriftBound(probe.electionTimeoutMinNanos(), clockDrift) + driftMarginNanos) : probe.maxClockDriftNanos();
        final SimCluster cluster = SimCluster.builder()
            .nodes(options.nodes)
            .seed(seed)
            .engineConfig(config ->
            {
                if (options.varyEngineConfig)
                {
                    config.maxEntriesPerAppend(maxEntriesPerAppend).maxInflightAppends(maxInflightAppends)
                        .preVote(preVote).checkQuorum(checkQuorum).logRetainEntries(logRetain);
                }
                config.maxClockDriftNanos(maxClockDriftNanos);
                options.engineConfig.accept(config);
                if (leaseDriftBound(config.electionTimeoutMinNanos(), clockDrift) > config.maxClockDriftNanos())
                {
                    throw new IllegalArgumentException("clock drift " + clockDrift + " exceeds the lease bound maxClockDriftNanos=" +
                        config.maxClockDriftNanos() + " over an election timeout of " + config.electionTimeoutMinNanos() + " ns");
                }
            })
            .maxClockDrift(clockDrift)
            .clientTimeoutMillis(options.clientTimeoutMillis)
            .traceCapacity(options.traceCapacity)
            .snapshotEvery(snapshotEvery)
            .snapshotChunkBytes(chunkBytes)
            .initialVoters(initialVoters)
            .runtime(options.runtime)
            .build();
        final boolean leaseReads = !options.varyEngineConfig || checkQuorum || !options.adminWorkload;
        return new Run(cluster, "maxEntriesPerAppend=" + maxEntriesPerAppend + " maxInflightAppends=" + maxInflightAppends +
            " preVote=" + preVote + " checkQuorum=" + checkQuorum + " snapshotEvery=" + snapshotEvery + " logRetain=" + logRetain +
            " chunkBytes=" + chunkBytes + " membershipChanges=" + membershipChanges + " initialVoters=" +
            Arrays.toString(initialVoters) + " clockDrift=" + clockDrift + " maxClockDriftNanos=" + maxClockDriftNanos +
            " leaseReads=" + leaseReads, membershipChanges, leaseReads).execute();
    }

    /**
     * @param electionTimeoutMinNanos the shortest election timeout
     * @param drift                   the most a clock runs fast or slow
     * @return the smallest maxClockDriftNanos under which a lease measured on a clock running slow by
     *         {@code drift} ends before a follower whose clock runs fast by {@code drift} times out
     */
    static long leaseDriftBound(final long electionTimeoutMinNanos, final double drift)
    {
        return (long)Math.ceil(electionTimeoutMinNanos * 2 * drift / (1 + drift));
    }

    /** What one passing run did. */
    public record Result(long seed, int nodes, long events, long invariantChecks, long simulatedNanos, int ops, int okOps,
        int unknownOps, int acknowledgedWrites, int crashes, int leaderTerms, long truncatedEntries,
        long messagesDropped, int snapshotsInstalled, Admin admin, long leaseReadsServed, long followerReads,
        CheckResult.Outcome linearizability, String linearizabilityDetail, long traceDigest)
    {
        /** @return true if the linearizability check ran out of budget */
        public boolean undecided()
        {
            return linearizability == CheckResult.Outcome.UNDECIDED;
        }
    }

    /**
     * The administration a run asked for, and how it ended, as the leaders reported it.
     *
     * @param learnersAdded     learners added (OK)
     * @param changesDone       voter changes by joint consensus that completed (OK)
     * @param promotions        of those, changes that made a learner a voter
     * @param leaderRemovals    of those, changes that removed the leader that ran them
     * @param changesFailed     membership requests that ended otherwise (refused, timed out, leader changed)
     * @param churnCycles       times the voters grew to every node and shrank back to the minimum (3 of 5, 2 of 3)
     * @param transfers         leader transfers asked for (to up-to-date, lagging and dead targets)
     * @param transfersDone     transfers that handed over leadership (OK)
     * @param transfersTimedOut transfers whose target did not take over in time
     */
    public record Admin(int learnersAdded, int changesDone, int promotions, int leaderRemovals, int changesFailed, int churnCycles,
        int transfers, int transfersDone, int transfersTimedOut)
    {
    }

    /** The shape of the runs; fluent setters. */
    public static final class Options
    {
        private int nodes = 3;
        private long chaosMillis = 3_000;
        private int clients = 4;
        private int minKeys = 3;
        private int maxKeys = 5;
        private boolean faults = true;
        private double maxClockDrift = 0.01;
        private long clientTimeoutMillis = 800;
        private long linearizabilityBudget = 200_000;
        private int livenessElectionTimeouts = 10;
        private int traceCapacity = 200;
        private boolean varyEngineConfig = true;
        private boolean membershipChanges = Boolean.parseBoolean(System.getProperty("ringraft.sim.membership", "true"));
        private boolean adminWorkload = true;
        private boolean runtime = Boolean.getBoolean("ringraft.sim.runtime");
        private Consumer<EngineConfig> engineConfig = config -> { };

        /** @param count cluster size */
        public Options nodes(final int count)
        {
            this.nodes = count;
            return this;
        }

        /** @return cluster size */
        public int nodes()
        {
            return nodes;
        }

        /** @param millis simulated length of the chaos phase */
        public Options chaosMillis(final long millis)
        {
            this.chaosMillis = millis;
            return this;
        }

        /** @param count how many clients run concurrently */
        public Options clients(final int count)
        {
            this.clients = count;
            return this;
        }

        /** @param min the fewest keys a run uses; @param max the most */
        public Options keys(final int min, final int max)
        {
            if (min < 1 || max < min)
            {
                throw new IllegalArgumentException("keys must satisfy 1 <= min <= max: " + min + ", " + max);
            }
            this.minKeys = min;
            this.maxKeys = max;
            return this;
        }

        /** @param enabled false for a run without network faults, crashes or partitions */
        public Options faults(final boolean enabled)
        {
            this.faults = enabled;
            return this;
        }

        /** @param fraction the most a node's clock runs fast or slow */
        public Options maxClockDrift(final double fraction)
        {
            this.maxClockDrift = fraction;
            return this;
        }

        /** @param millis how long a client waits for an operation */
        public Options clientTimeoutMillis(final long millis)
        {
            this.clientTimeoutMillis = millis;
            return this;
        }

        /** @param stepsPerKey the linearizability checker's search budget per key */
        public Options linearizabilityBudget(final long stepsPerKey)
        {
            this.linearizabilityBudget = stepsPerKey;
            return this;
        }

        /** @param count how many maximal election timeouts the quiet phase may take to converge */
        public Options livenessElectionTimeouts(final int count)
        {
            this.livenessElectionTimeouts = count;
            return this;
        }

        /** @param events how many of the last events a failure shows */
        public Options traceCapacity(final int events)
        {
            this.traceCapacity = events;
            return this;
        }

        /**
         * @param vary true (the default) to pick, per seed, the batch size, the replication window,
         *             whether pre-vote and check-quorum are on, and how often nodes snapshot and how much
         *             log they keep behind a snapshot; the {@link #engineConfig} customizer runs after
         */
        public Options varyEngineConfig(final boolean vary)
        {
            this.varyEngineConfig = vary;
            return this;
        }

        /**
         * @param enabled true (the default, unless {@code -Dringraft.sim.membership=false}) to let three
         *                seeds in four change the membership during the chaos phase: learners added and
         *                promoted, voters removed (the leader among them), 5-node runs going 3 -> 5 -> 3 voters,
         *                besides random voter sets
         */
        public Options membershipChanges(final boolean enabled)
        {
            this.membershipChanges = enabled;
            return this;
        }

        /**
         * @param enabled true (the default) for the full workload: a leader transfer every few hundred
         *                milliseconds to an up-to-date, lagging or dead voter, membership churn, follower
         *                reads, lease reads only with check-quorum, and per-seed clock drift within the
         *                configured lease bound; false for the workload before these, whose seeds replay the
         *                runs they named then (a regression seed found with it stays a regression test)
         */
        public Options adminWorkload(final boolean enabled)
        {
            this.adminWorkload = enabled;
            return this;
        }

        /**
         * @param realRuntime true to run the real runtime ({@link RuntimeSimNode}: {@code Raft} in INVOKER mode)
         *                    instead of the bare engine; default from {@code -Dringraft.sim.runtime}
         */
        public Options runtime(final boolean realRuntime)
        {
            this.runtime = realRuntime;
            return this;
        }

        /** @param customizer adjusts every node's engine config, e.g. to plant a bug */
        public Options engineConfig(final Consumer<EngineConfig> customizer)
        {
            this.engineConfig = customizer;
            return this;
        }

        @Override
        public String toString()
        {
            return "nodes=" + nodes + " chaos=" + chaosMillis + "ms clients=" + clients + " keys=" + minKeys + ".." + maxKeys +
                " faults=" + faults + (runtime ? " runtime=RaftCore/INVOKER" : " runtime=bare engine");
        }
    }

    /** The state of one run. */
    private final class Run
    {
        private final SimCluster cluster;
        private final String profile;
        private final boolean membershipChanges;
        private final boolean leaseReads;
        private final SplittableRandom random;
        private final String[] keys;
        private final List<String> recentValues = new ArrayList<>();
        private final List<AdminRequest> adminRequests = new ArrayList<>();
        private final int minVoters;
        private boolean quiet;
        private boolean growing;
        private boolean reachedAll;
        private int churnCycles;
        private long values;

        private Run(final SimCluster cluster, final String profile, final boolean membershipChanges, final boolean leaseReads)
        {
            this.cluster = cluster;
            this.profile = profile;
            this.membershipChanges = membershipChanges;
            this.leaseReads = leaseReads;
            this.minVoters = cluster.size() >= 5 ? 3 : Math.max(1, cluster.size() - 1);
            cluster.trace(0, "profile", profile);
            this.random = cluster.random();
            this.keys = new String[options.minKeys + random.nextInt(options.maxKeys - options.minKeys + 1)];
            for (int i = 0; i < keys.length; i++)
            {
                keys[i] = "k" + i;
            }
        }

        private Result execute()
        {
            for (int c = 0; c < options.clients; c++)
            {
                final SimClient client = cluster.client();
                cluster.schedule(cluster.nowNanos() + random.nextLong(20_000_000L), () -> nextOp(client));
            }
            if (options.faults)
            {
                cluster.schedule(cluster.nowNanos() + random.nextLong(50_000_000L, 300_000_000L), this::fault);
                cluster.onLeaderElected(this::disturbNewLeader);
            }
            if (options.faults && options.adminWorkload)
            {
                cluster.schedule(cluster.nowNanos() + random.nextLong(200_000_000L, 800_000_000L), this::transferStep);
            }
            if (membershipChanges && options.faults && options.adminWorkload)
            {
                growing = cluster.node(1).membership().voters().length < cluster.size();
                cluster.schedule(cluster.nowNanos() + random.nextLong(100_000_000L, 400_000_000L), this::membershipStep);
            }
            cluster.advance(options.chaosMillis);

            quiet = true;
            cluster.trace(0, "quiet", null);
            cluster.heal();
            cluster.network().reliable();
            cluster.network().delay(500_000L, 5_000_000L);
            cluster.releaseHeld();
            for (int id = 1; id <= cluster.size(); id++)
            {
                if (!cluster.node(id).isUp())
                {
                    cluster.restart(id);
                }
            }
            final long bound = options.livenessElectionTimeouts * cluster.electionTimeoutMaxNanos();
            final boolean live = cluster.runUntil(this::converged, TimeUnit.NANOSECONDS.toMillis(bound));
            if (!live)
            {
                throw cluster.failure("liveness: " + options.livenessElectionTimeouts + " election timeouts after the quiet phase " +
                    "began, still no leader that committed its log and had every node apply it (leader=" + cluster.leader() +
                    ", last acknowledged write at index " + cluster.maxAcknowledgedIndex() + ", engine profile: " + profile + ")", null);
            }
            try
            {
                cluster.checker().checkStateMachines();
            }
            catch (final InvariantViolation ex)
            {
                throw cluster.failure(ex.getMessage(), null);
            }
            // Let the clients' outstanding operations end (they time out at the latest).
            cluster.runUntil(this::allOpsDone, options.clientTimeoutMillis + 10);

            final CheckResult check = cluster.checkLinearizability(options.linearizabilityBudget);
            if (check.outcome() == CheckResult.Outcome.NOT_LINEARIZABLE)
            {
                throw cluster.failure("not linearizable: " + check + "\n" + cluster.history().describe(check.key()), null);
            }
            int ok = 0;
            int unknown = 0;
            for (final Operation op : cluster.history().operations())
            {
                if (op.status() == Operation.Status.OK)
                {
                    ok++;
                }
                else if (op.status() != Operation.Status.FAIL)
                {
                    unknown++;
                }
            }
            int crashes = 0;
            int installed = 0;
            for (int id = 1; id <= cluster.size(); id++)
            {
                crashes += cluster.node(id).crashes();
                installed += cluster.node(id).snapshotsInstalled();
            }
            return new Result(cluster.seed(), cluster.size(), cluster.events(), cluster.checker().checks(), cluster.nowNanos(),
                cluster.history().size(), ok, unknown, cluster.acknowledgedWrites(), crashes, cluster.checker().leaderTerms(),
                cluster.truncatedEntries(), cluster.network().dropped(), installed, tallyAdmin(), cluster.leaseReadsServed(),
                cluster.followerReads(), check.outcome(), check.explanation(), cluster.trace().digest());
        }

        private Admin tallyAdmin()
        {
            int learners = 0;
            int changes = 0;
            int promotions = 0;
            int leaderRemovals = 0;
            int changesFailed = 0;
            int transfers = 0;
            int transfersDone = 0;
            int transfersTimedOut = 0;
            for (final AdminRequest request : adminRequests)
            {
                final AdminOutcome outcome = cluster.adminOutcome(request.requestId);
                final boolean ok = outcome != null && outcome.ok();
                switch (request.kind)
                {
                    case ADD_LEARNER ->
                    {
                        learners += ok ? 1 : 0;
                        changesFailed += outcome != null && !ok ? 1 : 0;
                    }
                    case CHANGE ->
                    {
                        changes += ok ? 1 : 0;
                        promotions += ok && request.promotes ? 1 : 0;
                        leaderRemovals += ok && request.removesLeader ? 1 : 0;
                        changesFailed += outcome != null && !ok ? 1 : 0;
                    }
                    default ->
                    {
                        transfers++;
                        transfersDone += ok ? 1 : 0;
                        transfersTimedOut += outcome != null && outcome.status() == AdminStatus.TIMED_OUT ? 1 : 0;
                    }
                }
            }
            return new Admin(learners, changes, promotions, leaderRemovals, changesFailed, churnCycles, transfers, transfersDone,
                transfersTimedOut);
        }

        /**
         * A leader is elected, it has committed its whole log, and every node applied all of it, at
         * least up to the last acknowledged write.
         */
        private boolean converged()
        {
            final long leaderId = cluster.leader();
            if (leaderId == Vote.NO_NODE)
            {
                return false;
            }
            final SimNode leader = cluster.node(leaderId);
            final long committed = leader.committedIndex();
            if (committed < leader.lastLogId().index() || committed < cluster.maxAcknowledgedIndex())
            {
                return false;
            }
            // Nodes outside the membership (never added, or removed) no longer follow the log.
            for (final long id : leader.membership().allNodes())
            {
                final SimNode node = cluster.node(id);
                if (!node.isUp() || node.appliedIndex() != committed)
                {
                    return false;
                }
            }
            return true;
        }

        private boolean allOpsDone()
        {
            for (final Operation op : cluster.history().operations())
            {
                if (op.status() == Operation.Status.PENDING)
                {
                    return false;
                }
            }
            return true;
        }

        private void nextOp(final SimClient client)
        {
            if (quiet)
            {
                return;
            }
            final String key = keys[random.nextInt(keys.length)];
            final int dice = random.nextInt(100);
            final SimOp op;
            if (dice < 35)
            {
                op = client.put(key, newValue(client));
            }
            else if (dice < 55)
            {
                final String expected = recentValues.isEmpty() || random.nextInt(4) == 0 ? null :
                    recentValues.get(random.nextInt(recentValues.size()));
                op = client.cas(key, expected, newValue(client));
            }
            else if (dice < 65)
            {
                op = client.delete(key);
            }
            else if (dice < (options.adminWorkload ? 75 : 77))
            {
                op = client.get(key);
            }
            else if (dice < (options.adminWorkload ? 84 : 89))
            {
                op = client.read(key);
            }
            else if (options.adminWorkload && (dice < 92 || !leaseReads))
            {
                op = client.followerRead(key);
            }
            else
            {
                op = client.leaseRead(key);
            }
            op.whenDone(() -> cluster.schedule(cluster.nowNanos() + random.nextLong(15_000_000L), () -> nextOp(client)));
        }

        private String newValue(final SimClient client)
        {
            final String value = "c" + client.id() + "v" + (++values);
            recentValues.add(value);
            if (recentValues.size() > 8)
            {
                recentValues.remove(0);
            }
            return value;
        }

        private void fault()
        {
            if (quiet)
            {
                return;
            }
            final int n = cluster.size();
            final int dice = random.nextInt(100);
            if (dice < 18)
            {
                cluster.heal();
            }
            else if (dice < 32)
            {
                final long[] order = shuffledIds(n);
                final int split = 1 + random.nextInt(n - 1);
                final long[] a = Arrays.copyOfRange(order, 0, split);
                final long[] b = Arrays.copyOfRange(order, split, n);
                cluster.partition(a, b);
            }
            else if (dice < 40)
            {
                cluster.isolate(1 + random.nextInt(n));
            }
            else if (dice < 48)
            {
                final long from = 1 + random.nextInt(n);
                final long to = 1 + (from + random.nextInt(n - 1)) % n;
                cluster.cut(from, to);
            }
            else if (dice < 64)
            {
                crashSomeNode(n);
            }
            else if (dice < 74)
            {
                final long id = 1 + random.nextInt(n);
                if (!cluster.node(id).isUp())
                {
                    cluster.restart(id);
                }
            }
            else if (dice < 80)
            {
                changeLinkQuality();
            }
            else if (dice < 82 && options.adminWorkload)
            {
                transferLeadership();
            }
            else if (dice < 82)
            {
                final long leader = cluster.leader();
                if (leader != Vote.NO_NODE)
                {
                    cluster.transferLeader(leader, 1 + (leader + random.nextInt(n - 1)) % n);
                }
            }
            else if (dice < 83 && membershipChanges)
            {
                changeMembership(n);
            }
            else if (dice < 84)
            {
                // An operator forcing an election: no pre-vote, so a node with a stale log bumps the term too.
                final long id = 1 + random.nextInt(n);
                if (cluster.node(id).isUp())
                {
                    cluster.triggerElection(id);
                }
            }
            else if (dice < 92)
            {
                final long leader = cluster.leader();
                if (leader != Vote.NO_NODE)
                {
                    disturb(leader, cluster.node(leader).currentTerm());
                }
            }
            else
            {
                holdSomeMessages(n);
            }
            cluster.schedule(cluster.nowNanos() + random.nextLong(20_000_000L, 250_000_000L), this::fault);
        }

        /**
         * A new leader's first round trips are where the subtle commit rules matter (Raft §5.4.2,
         * Figure 8): often cut it off or crash it while its log is only partly replicated.
         */
        private void disturbNewLeader(final long leader, final long term)
        {
            if (quiet || random.nextInt(100) >= 30)
            {
                return;
            }
            cluster.schedule(cluster.nowNanos() + random.nextLong(100_000L, 15_000_000L), () -> disturb(leader, term));
        }

        /** Crashes or isolates a leader for a while, if it still leads that term. */
        private void disturb(final long leader, final long term)
        {
            final SimNode node = cluster.node(leader);
            if (quiet || !node.isUp() || node.currentTerm() != term)
            {
                return;
            }
            if (random.nextBoolean())
            {
                cluster.crash(leader);
                cluster.schedule(cluster.nowNanos() + random.nextLong(5_000_000L, 300_000_000L), () ->
                {
                    if (!quiet && !cluster.node(leader).isUp())
                    {
                        cluster.restart(leader);
                    }
                });
            }
            else
            {
                cluster.isolate(leader);
                cluster.schedule(cluster.nowNanos() + random.nextLong(5_000_000L, 300_000_000L), () ->
                {
                    if (!quiet)
                    {
                        cluster.heal();
                    }
                });
                if (random.nextBoolean())
                {
                    // An operator who sees the leader cut off forces an election on the other side at once.
                    final long other = 1 + (leader + random.nextInt(cluster.size() - 1)) % cluster.size();
                    cluster.schedule(cluster.nowNanos() + random.nextLong(1_000_000L, 20_000_000L), () ->
                    {
                        if (!quiet && cluster.node(other).isUp())
                        {
                            cluster.triggerElection(other);
                        }
                    });
                }
            }
        }

        /** Adds a node that is not a member as a learner, or moves to a random set of the members as voters. */
        private void changeMembership(final int n)
        {
            final long leader = cluster.leader();
            if (leader == Vote.NO_NODE)
            {
                return;
            }
            final Membership current = cluster.node(leader).membership();
            final long[] members = current.allNodes();
            final long[] outsiders = LongStream.rangeClosed(1, n).filter(id -> !current.contains(id)).toArray();
            if (outsiders.length > 0 && random.nextBoolean())
            {
                addLearner(leader, outsiders[random.nextInt(outsiders.length)]);
                return;
            }
            final long[] shuffled = shuffled(members);
            final int size = 1 + random.nextInt(shuffled.length);
            changeVoters(leader, current, Arrays.copyOf(shuffled, size), random.nextBoolean());
        }

        /**
         * Membership churn: grows the voters to every node (adding learners, then promoting them), then
         * shrinks them back to the minimum (removing voters, the leader among them now and then), and again,
         * every few hundred milliseconds of the chaos phase; on 5 nodes that is 3 -> 5 -> 3 voters.
         */
        private void membershipStep()
        {
            if (quiet)
            {
                return;
            }
            cluster.schedule(cluster.nowNanos() + random.nextLong(50_000_000L, 400_000_000L), this::membershipStep);
            final long leader = cluster.leader();
            if (leader == Vote.NO_NODE)
            {
                return;
            }
            final Membership current = cluster.node(leader).membership();
            if (current == null || current.isJoint())
            {
                return;
            }
            final long[] voters = current.voters();
            final long[] learners = current.learners();
            final long[] outsiders = LongStream.rangeClosed(1, cluster.size()).filter(id -> !current.contains(id)).toArray();
            if (growing && voters.length >= cluster.size())
            {
                growing = false;
                reachedAll = true;
            }
            else if (!growing && voters.length <= minVoters)
            {
                growing = true;
                churnCycles += reachedAll ? 1 : 0;
                reachedAll = false;
            }
            if (growing)
            {
                if (learners.length > 0 && (outsiders.length == 0 || random.nextBoolean()))
                {
                    final long[] promoted = random.nextBoolean() ? learners : new long[] {learners[random.nextInt(learners.length)]};
                    changeVoters(leader, current, LongStream.concat(Arrays.stream(voters), Arrays.stream(promoted)).toArray(), false);
                }
                else if (outsiders.length > 0)
                {
                    addLearner(leader, outsiders[random.nextInt(outsiders.length)]);
                }
                return;
            }
            final int remove = Math.min(voters.length - minVoters, 1 + random.nextInt(2));
            final long[] order = shuffled(voters);
            if (random.nextInt(3) == 0)
            {
                // Put the leader first among those removed.
                for (int i = 0; i < order.length; i++)
                {
                    if (order[i] == leader)
                    {
                        order[i] = order[0];
                        order[0] = leader;
                    }
                }
            }
            changeVoters(leader, current, Arrays.copyOfRange(order, remove, order.length), random.nextBoolean());
        }

        /** Every few hundred milliseconds of the chaos phase, a leader transfer half the time. */
        private void transferStep()
        {
            if (quiet)
            {
                return;
            }
            cluster.schedule(cluster.nowNanos() + random.nextLong(200_000_000L, 800_000_000L), this::transferStep);
            if (random.nextBoolean())
            {
                transferLeadership();
            }
        }

        private void addLearner(final long leader, final long learner)
        {
            adminRequests.add(new AdminRequest(cluster.addLearner(leader, learner), AdminKind.ADD_LEARNER, false, false));
        }

        private void changeVoters(final long leader, final Membership current, final long[] newVoters, final boolean retain)
        {
            final boolean removesLeader = Arrays.stream(newVoters).noneMatch(id -> id == leader);
            final boolean promotes = Arrays.stream(newVoters).anyMatch(current::isLearner);
            adminRequests.add(new AdminRequest(cluster.changeMembership(leader, newVoters, retain), AdminKind.CHANGE, removesLeader,
                promotes));
        }

        /**
         * Asks the leader to hand over to a voter that is up to date, lagging (its appends held back for a
         * while) or down, with a timeout of one to four election timeouts.
         */
        private void transferLeadership()
        {
            final long leader = cluster.leader();
            if (leader == Vote.NO_NODE)
            {
                return;
            }
            final NodeMetrics metrics = cluster.metrics(leader);
            final long[] others = Arrays.stream(metrics.membership().voters()).filter(id -> id != leader).toArray();
            if (others.length == 0)
            {
                return;
            }
            final long timeoutMillis = TimeUnit.NANOSECONDS.toMillis(cluster.electionTimeoutMaxNanos()) * (1 + random.nextInt(4));
            final int kind = random.nextInt(3);
            long target = others[random.nextInt(others.length)];
            if (kind == 0)
            {
                // The most up-to-date voter.
                for (final long id : others)
                {
                    if (metrics.matched().getOrDefault(id, 0L) > metrics.matched().getOrDefault(target, 0L))
                    {
                        target = id;
                    }
                }
            }
            else if (kind == 1)
            {
                final long lagging = target;
                final Predicate<RaftMessage> filter = m -> m.to() == lagging && m instanceof AppendEntriesRequest;
                cluster.trace(lagging, "hold", "appends, to transfer to a lagging voter");
                cluster.network().hold(filter);
                cluster.schedule(cluster.nowNanos() + random.nextLong(20_000_000L, 2 * cluster.electionTimeoutMaxNanos()), () ->
                {
                    cluster.network().removeFilter(filter);
                    cluster.trace(lagging, "release", cluster.network().heldCount());
                    cluster.network().releaseHeld();
                });
            }
            else
            {
                final long[] down = Arrays.stream(others).filter(id -> !cluster.node(id).isUp()).toArray();
                if (down.length > 0)
                {
                    target = down[random.nextInt(down.length)];
                }
                else if (downCount() + 1 < (cluster.size() + 1) / 2)
                {
                    cluster.crash(target);
                    final long restarted = target;
                    cluster.schedule(cluster.nowNanos() + random.nextLong(50_000_000L, 400_000_000L), () ->
                    {
                        if (!quiet && !cluster.node(restarted).isUp())
                        {
                            cluster.restart(restarted);
                        }
                    });
                }
            }
            adminRequests.add(new AdminRequest(cluster.transferLeader(leader, target, timeoutMillis), AdminKind.TRANSFER, false,
                false));
        }

        private int downCount()
        {
            int down = 0;
            for (int id = 1; id <= cluster.size(); id++)
            {
                down += cluster.node(id).isUp() ? 0 : 1;
            }
            return down;
        }

        private long[] shuffled(final long[] ids)
        {
            final long[] order = ids.clone();
            for (int i = order.length - 1; i > 0; i--)
            {
                final int j = random.nextInt(i + 1);
                final long t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
            return order;
        }

        private void crashSomeNode(final int n)
        {
            final long id = 1 + random.nextInt(n);
            if (!cluster.node(id).isUp() || downCount() >= (n + 1) / 2)
            {
                return;
            }
            cluster.crash(id);
            if (random.nextInt(10) < 8)
            {
                cluster.schedule(cluster.nowNanos() + random.nextLong(10_000_000L, 400_000_000L), () ->
                {
                    if (!quiet && !cluster.node(id).isUp())
                    {
                        cluster.restart(id);
                    }
                });
            }
        }

        private void changeLinkQuality()
        {
            final double[] losses = {0, 0, 0.02, 0.1, 0.3};
            final double[] duplicates = {0, 0, 0.02, 0.1};
            final long[] maxDelaysMicros = {2_000, 5_000, 5_000, 20_000, 60_000, 200_000};
            final SimNetwork network = cluster.network();
            network.lossRate(losses[random.nextInt(losses.length)]);
            network.duplicateRate(duplicates[random.nextInt(duplicates.length)]);
            network.partialAppendRate(random.nextInt(4) == 0 ? 0.2 : 0);
            network.delay(200_000L, maxDelaysMicros[random.nextInt(maxDelaysMicros.length)] * 1_000L);
            cluster.trace(0, "links", "loss/dup/delay changed");
        }

        private void holdSomeMessages(final int n)
        {
            final long target = 1 + random.nextInt(n);
            final int type = random.nextInt(3);
            final Predicate<RaftMessage> filter = m -> m.to() == target && switch (type)
            {
                case 0 -> m instanceof AppendEntriesRequest;
                case 1 -> m instanceof AppendEntriesResponse;
                default -> m instanceof VoteRequest || m instanceof VoteResponse;
            };
            cluster.trace(target, "hold", type == 0 ? "appends" : type == 1 ? "append responses" : "votes");
            cluster.network().hold(filter);
            cluster.schedule(cluster.nowNanos() + random.nextLong(5_000_000L, 800_000_000L), () ->
            {
                cluster.network().removeFilter(filter);
                cluster.trace(target, "release", cluster.network().heldCount());
                cluster.network().releaseHeld();
            });
        }

        private long[] shuffledIds(final int n)
        {
            return shuffled(LongStream.rangeClosed(1, n).toArray());
        }

        private record AdminRequest(long requestId, AdminKind kind, boolean removesLeader, boolean promotes)
        {
        }
    }

    private enum AdminKind
    {
        ADD_LEARNER, CHANGE, TRANSFER
    }
}
