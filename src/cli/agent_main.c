/* virtlab-agent: the agent alone, linked statically for minimal guests. */
#include "cli/commands.h"

#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	/* A VM guest's kernel runs /init, a link to this program, with no way
	 * to give it options. */
	if (getpid() == 1 && strcmp(argv[0], "/init") == 0) {
		char *init_argv[] = {argv[0], "--init", NULL};
		return vl_cmd_agent(2, init_argv);
	}
	return vl_cmd_agent(argc, argv);
}
