Console.Error.WriteLine("The load harness is being built.");
