package io.ringraft.server;

import java.lang.reflect.InvocationTargetException;
import java.util.Arrays;

/**
 * The {@code ringraft} command. Each subcommand exits with status 0 on success, 1 when what it
 * checks fails, and 2 on bad usage or configuration, after one line that names the problem.
 */
public final class RingraftMain
{
    private static final String USAGE = String.join(System.lineSeparator(),
        "usage: ringraft <command> [args]",
        "commands:",
        "  demo [--duration 10s] [--payload 64] [--window 32] [--nodes 3] [--durability NONE|BATCH|ALWAYS] [--processes]",
        "       [--snapshot-every 100000] [--timeout 1s]",
        "      a 3-node cluster on 127.0.0.1 over Aeron UDP with Chronicle logs: a key-value workload, the leader killed",
        "      and restarted halfway, then a summary and a check that every node applied the same sequence",
        "  node --config FILE [--id N] [--join]",
        "      run one node until SIGTERM/SIGINT; --join: on an empty data dir, wait for a leader to add it",
        "  admin (" + AdminCommand.USAGE + ")",
        "      (--config FILE | --endpoint HOST:PORT)... [--timeout 10s] [--wait] [--client-id N --client-key FILE]",
        "      change or show the membership (signed with the client's key when given)",
        "  kv (put KEY VALUE | get KEY [--linearizable] | delete KEY | cas KEY EXPECTED NEW) (--config FILE | --endpoint HOST:PORT)...",
        "      [--timeout 3s] [--client-id N --client-key FILE]   the example key-value service, against any member",
        "      (cas EXPECTED '-' = absent; signed with the client's key when given)",
        "  status [--config FILE (default ./ringraft.conf) | --data-dir DIR]...",
        "      role, term, leader, indexes and replication lag of the nodes on this machine",
        "  load [--config FILE | --endpoint HOST:PORT]... [--mode closed|open] [--window 1,16,256] [--rates 1000,5000]",
        "      [--sizes 64,1024] [--warmup 3s] [--duration 10s] [--nodes 3] [--processes] [--hgrm DIR] [--client kv|raw]",
        "      [--service CLASS] [--node-setting KEY=VALUE]... [--client-driver invoked|thread] [--keys unique|N] [--reads N]",
        "      the load generator: latency percentiles (HdrHistogram) per rate and message size; --keys N: puts overwrite N",
        "      keys in turn (default unique: the nodes' state grows); --reads N: every N-th request a linearizable get;",
        "      --node-setting sets a node",
        "      config setting of the local cluster (e.g. threading=INVOKER, idle=yield-wait); --client-driver: the client's",
        "      own media driver runs in its polling thread (invoked, the default) or on a thread of its own",
        "  simulate <seeds> [nodes=3] [firstSeed=1] [plantedBug=NONE]",
        "      run the deterministic simulator: random faults, invariants after every step, linearizability at the end",
        "  nemesis [--nodes 3] [--duration 60s] [--seed N] [--faults kill,pause,partition,loss] ... (ringraft nemesis --help)",
        "      node processes in network namespaces under kills, pauses, partitions and loss; the history checked, a report",
        "      (from the nemesis module's jar, which the ./ringraft launcher builds and runs for this command)");

    static
    {
        // Chronicle logs through slf4j; the command shows its warnings and errors only.
        if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null)
        {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        }
    }

    private RingraftMain()
    {
    }

    /**
     * @param args the command and its arguments
     */
    public static void main(final String[] args)
    {
        // Exit explicitly: a library's non-daemon thread must not keep a stopped node's JVM alive.
        System.exit(run(args));
    }

    /**
     * Runs a command.
     *
     * @param args the command and its arguments
     * @return the exit status
     */
    static int run(final String[] args)
    {
        if (args.length == 0)
        {
            System.err.println(USAGE);
            return CliException.USAGE;
        }
        final String[] rest = Arrays.copyOfRange(args, 1, args.length);
        try
        {
            switch (args[0])
            {
                case "simulate":
                    return simulate(rest);
                case "node":
                    return NodeCommand.run(rest);
                case "kv":
                    return KvCli.run(rest);
                case "admin":
                    return AdminCommand.run(rest);
                case "status":
                    return StatusCommand.run(rest);
                case "demo":
                    return Demo.run(rest);
                case "load":
                    return LoadGenerator.run(rest);
                case "nemesis":
                    System.err.println("ringraft: nemesis runs from the nemesis module's jar: use the ./ringraft launcher, or java -jar " +
                        "nemesis/target/ringraft-nemesis.jar nemesis");
                    return CliException.USAGE;
                case "help":
                case "--help":
                case "-h":
                    System.out.println(USAGE);
                    return 0;
                default:
                    System.err.println("ringraft: unknown command '" + args[0] + "' (try: ringraft help)");
                    return CliException.USAGE;
            }
        }
        catch (final CliException ex)
        {
            System.err.println(ex.getMessage());
            return ex.exitStatus();
        }
    }

    /**
     * The simulator lives in the testkit, which the runnable jar leaves out (with JUnit): the
     * {@code ringraft} script puts the testkit's jar on the classpath for this command.
     */
    private static int simulate(final String[] args)
    {
        final Class<?> main;
        try
        {
            main = Class.forName("io.ringraft.testkit.sim.SimulatorMain");
        }
        catch (final ClassNotFoundException ex)
        {
            throw new CliException("ringraft simulate: the simulator (ringraft-testkit) is not on the classpath; run it with the " +
                "ringraft script, which adds testkit/target/ringraft-testkit-*.jar");
        }
        try
        {
            main.getMethod("main", String[].class).invoke(null, (Object)args);
            return 0;
        }
        catch (final InvocationTargetException ex)
        {
            if (ex.getCause() instanceof RuntimeException)
            {
                throw (RuntimeException)ex.getCause();
            }
            throw new IllegalStateException(ex.getCause());
        }
        catch (final ReflectiveOperationException ex)
        {
            throw new IllegalStateException("the simulator's entry point cannot be called: " + ex, ex);
        }
    }
}
