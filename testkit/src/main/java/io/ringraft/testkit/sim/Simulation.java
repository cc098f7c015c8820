package io.ringraft.testkit.sim;

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
        final boolean membershipChanges = options.membershipChanges && profile.nextBoolean();
        final long[] initialVoters = membershipChanges && options.nodes >= 5 && profile.nextBoolean() ?
            new long[] {1, 2, 3} : LongStream.rangeClosed(1, options.nodes).toArray();
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
                options.engineConfig.accept(config);
            })
            .maxClockDrift(options.maxClockDrift)
            .clientTimeoutMillis(options.clientTimeoutMillis)
            .traceCapacity(options.traceCapacity)
            .snapshotEvery(snapshotEvery)
            .snapshotChunkBytes(chunkBytes)
            .initialVoters(initialVoters)
            .build();
        return new Run(cluster, "maxEntriesPerAppend=" + maxEntriesPerAppend + " maxInflightAppends=" + maxInflightAppends +
            " preVote=" + preVote + " checkQuorum=" + checkQuorum + " snapshotEvery=" + snapshotEvery + " logRetain=" + logRetain +
            " chunkBytes=" + chunkBytes + " membershipChanges=" + membershipChanges + " initialVoters=" +
            Arrays.toString(initialVoters), membershipChanges).execute();
    }

    /** What one passing run did. */
    public record Result(long seed, int nodes, long events, long invariantChecks, long simulatedNanos, int ops, int okOps,
        int unknownOps, int acknowledgedWrites, int crashes, int leaderTerms, long truncatedEntries,
        long messagesDropped, int snapshotsInstalled, CheckResult.Outcome linearizability,
        String linearizabilityDetail, long traceDigest)
    {
        /** @return true if the linearizability check ran out of budget */
        public boolean undecided()
        {
            return linearizability == CheckResult.Outcome.UNDECIDED;
        }
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
        private boolean membershipChanges = Boolean.getBoolean("ringraft.sim.membership");
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
         * @param enabled true to let half the seeds change the membership during the chaos phase (learners
         *                added, voters changed by joint consensus; 5-node runs may start with 3 voters).
         *                Off unless {@code -Dringraft.sim.membership=true}: a learner added to a cluster
         *                that then takes no writes never receives the log (engine issue, e.g. seed 137 on 5 nodes)
         */
        public Options membershipChanges(final boolean enabled)
        {
            this.membershipChanges = enabled;
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
                " faults=" + faults;
        }
    }

    /** The state of one run. */
    private final class Run
    {
        private final SimCluster cluster;
        private final String profile;
        private final boolean membershipChanges;
        private final SplittableRandom random;
        private final String[] keys;
        private final List<String> recentValues = new ArrayList<>();
        private boolean quiet;
        private long values;

        private Run(final SimCluster cluster, final String profile, final boolean membershipChanges)
        {
            this.cluster = cluster;
            this.profile = profile;
            this.membershipChanges = membershipChanges;
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
                cluster.truncatedEntries(), cluster.network().dropped(), installed, check.outcome(), check.explanation(), cluster.trace().digest());
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
            else if (dice < 77)
            {
                op = client.get(key);
            }
            else if (dice < 89)
            {
                op = client.read(key);
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
                cluster.addLearner(leader, outsiders[random.nextInt(outsiders.length)]);
                return;
            }
            final long[] shuffled = members.clone();
            for (int i = shuffled.length - 1; i > 0; i--)
            {
                final int j = random.nextInt(i + 1);
                final long t = shuffled[i];
                shuffled[i] = shuffled[j];
                shuffled[j] = t;
            }
            final int size = 1 + random.nextInt(shuffled.length);
            cluster.changeMembership(leader, Arrays.copyOf(shuffled, size), random.nextBoolean());
        }

        private void crashSomeNode(final int n)
        {
            int down = 0;
            for (int id = 1; id <= n; id++)
            {
                down += cluster.node(id).isUp() ? 0 : 1;
            }
            final long id = 1 + random.nextInt(n);
            if (!cluster.node(id).isUp() || down >= (n + 1) / 2)
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
            final long[] ids = new long[n];
            for (int i = 0; i < n; i++)
            {
                ids[i] = i + 1;
            }
            for (int i = n - 1; i > 0; i--)
            {
                final int j = random.nextInt(i + 1);
                final long t = ids[i];
                ids[i] = ids[j];
                ids[j] = t;
            }
            return ids;
        }
    }
}
