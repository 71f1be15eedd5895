from swap.cli import main

main(prog_name="python -m swap")
