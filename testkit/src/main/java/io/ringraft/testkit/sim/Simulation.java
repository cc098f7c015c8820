package io.ringraft.testkit.sim;

import io.ringraft.Vote;
import io.ringraft.engine.EngineConfig;
import io.ringraft.testkit.history.CheckResult;
import io.ringraft.testkit.history.Operation;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
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

    /** The state of one run: its cluster, workload and faults. */
    private final class Run
    {
        private final SimCluster cluster;
        private final String profile;
        private final RandomWorkload workload;
        private final RandomFaults faults;
        private boolean quiet;

        private Run(final SimCluster cluster, final String profile, final boolean membershipChanges, final boolean leaseReads)
        {
            this.cluster = cluster;
            this.profile = profile;
            cluster.trace(0, "profile", profile);
            this.workload = new RandomWorkload(cluster, options.minKeys, options.maxKeys, options.adminWorkload, leaseReads,
                () -> quiet);
            this.faults = new RandomFaults(cluster, options.adminWorkload, membershipChanges, () -> quiet);
        }

        private Result execute()
        {
            workload.start(options.clients);
            if (options.faults)
            {
                faults.start();
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
            // A node may still run a timer set in the chaos phase, backed off and with patience for links that were slow then.
            final long bound = options.livenessElectionTimeouts * cluster.electionTimeoutMaxNanos() + cluster.longestElectionTimerNanos();
            final boolean live = cluster.runUntil(this::converged, TimeUnit.NANOSECONDS.toMillis(bound));
            if (!live)
            {
                throw cluster.failure("liveness: " + options.livenessElectionTimeouts + " election timeouts (and the longest timer) after the quiet phase " +
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
                cluster.truncatedEntries(), cluster.network().dropped(), installed, faults.tally(), cluster.leaseReadsServed(),
                cluster.followerReads(), check.outcome(), check.explanation(), cluster.trace().digest());
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
    }
}
