using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;
using SmartApp.Domain.Common.Storage;
using SmartApp.Domain.Identity;
using SmartApp.Functions.Http;
using SmartApp.Functions.Identity;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.AddHttpEdge();

builder.Services
    .AddStorage(builder.Configuration)
    .AddIdentity(builder.Configuration, builder.Environment)
    .AddIdentityEdge();

builder.Build().Run();
