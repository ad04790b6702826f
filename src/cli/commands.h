/* Subcommands of the virtlab binary. Each takes the arguments after its name
 * (argv[0] is the subcommand) and returns the process exit code: 0 ok,
 * 1 failure, 2 bad usage or input (docs/cli.md). */
#pragma once

int vl_cmd_run(int argc, char **argv);
int vl_cmd_agent(int argc, char **argv);
int vl_cmd_serve(int argc, char **argv);
int vl_cmd_calibrate(int argc, char **argv);
int vl_cmd_info(int argc, char **argv);
int vl_cmd_net(int argc, char **argv);
int vl_cmd_report(int argc, char **argv);
int vl_cmd_study(int argc, char **argv);
int vl_cmd_guest(int argc, char **argv);
int vl_cmd_entitle(int argc, char **argv);
int vl_cmd_cleanup(int argc, char **argv);
int vl_cmd_lab(int argc, char **argv);
