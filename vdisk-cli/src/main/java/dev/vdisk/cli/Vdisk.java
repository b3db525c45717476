package dev.vdisk.cli;

import dev.vdisk.backend.nativeio.JnaDispatchCache;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import net.openhft.posix.PosixAPI;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code vdisk} command: one subcommand per job a person runs by hand. */
@Command(
    name = "vdisk",
    mixinStandardHelpOptions = true,
    versionProvider = Vdisk.Version.class,
    description =
        "Virtual disks for virtual machines: serve disks to VMMs (vhost-user, QEMU's PCI proxy, NBD,"
            + " ImDisk proxy), probe memory dumps for RAM disks, inspect and copy disks.")
public final class Vdisk implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs the command line and returns the exit status (tests call this instead of main). */
  public static int run(String... args) {
    // Chronicle's usage analytics must never phone home, whatever the launcher set.
    System.setProperty("chronicle.analytics.disable", "true");
    // Before anything loads JNA: reuse a kept copy of its native library (see the class for the
    // exit-time stall a freshly unpacked one caused).
    JnaDispatchCache.install();
    // Chronicle's Jvm class initialiser preloads its POSIX binding (JNR, which generates code at
    // run time): 0.3 s of CPU before the first byte moves, for calls vdisk never makes (its own
    // native calls go through JNA). Unit tests already run without it (Chronicle skips the preload
    // under JUnit).
    PosixAPI.useNoOpPosixApi();
    // Initialise logging on this thread before a command starts helper threads (vdisk copy warms
    // up Chronicle on one): two threads initialising SLF4J at once made it print a "logging calls
    // during the initialization phase" warning on stderr.
    LoggerFactory.getILoggerFactory();
    return commandLineFor(args).execute(args);
  }

  /** The subcommands by name (one line each, keep sorted by name). */
  private static final Map<String, Supplier<Object>> SUBCOMMANDS = new LinkedHashMap<>();

  static {
    SUBCOMMANDS.put("attach-qemu", AttachQemuCommand::new);
    SUBCOMMANDS.put("copy", CopyCommand::new);
    SUBCOMMANDS.put("info", InfoCommand::new);
    SUBCOMMANDS.put("probe", ProbeCommand::new);
    SUBCOMMANDS.put("serve", ServeCommand::new);
  }

  /** The whole command tree. */
  public static CommandLine commandLine() {
    return commandLine(SUBCOMMANDS.keySet());
  }

  /**
   * The tree for one run: when the first argument names a subcommand, only that subcommand is
   * built. Picocli builds each subcommand's model by reflection, ~0.2 s for all five at start-up on
   * this machine, and a run uses one (its own help and errors are the same either way).
   */
  static CommandLine commandLineFor(String... args) {
    if (args.length > 0 && SUBCOMMANDS.containsKey(args[0])) {
      return commandLine(Set.of(args[0]));
    }
    return commandLine();
  }

  private static CommandLine commandLine(Set<String> names) {
    CommandLine cl = new CommandLine(new Vdisk());
    for (Map.Entry<String, Supplier<Object>> e : SUBCOMMANDS.entrySet()) {
      if (names.contains(e.getKey())) {
        cl.addSubcommand(e.getKey(), e.getValue().get());
      }
    }
    // Bad arguments: one line naming the problem (scripts read it), exit 2.
    cl.setParameterExceptionHandler(
        (ex, args) -> {
          CommandLine c = ex.getCommandLine();
          c.getErr().println(c.getCommandSpec().qualifiedName() + ": " + oneLine(ex));
          return c.getCommandSpec().exitCodeOnInvalidInput();
        });
    cl.setExecutionExceptionHandler(
        (ex, commandLine, parseResult) -> {
          commandLine
              .getErr()
              .println(commandLine.getCommandSpec().qualifiedName() + ": " + oneLine(ex));
          return 1;
        });
    return cl;
  }

  /** A one-line reason for an error, for scripts that read stderr. */
  static String oneLine(Throwable t) {
    String m = t.getMessage();
    return (m == null ? t.getClass().getSimpleName() : m).replace('\n', ' ');
  }

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** Version from the jar manifest when packaged. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Vdisk.class.getPackage().getImplementationVersion();
      return new String[] {"vdisk " + (v == null ? "development build" : v)};
    }
  }
}
