using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SmartApp.Domain.Agents;
using SmartApp.Domain.Billing;
using SmartApp.Domain.Chat;
using SmartApp.Domain.Common.Storage;
using SmartApp.Domain.Data;
using SmartApp.Domain.Files;
using SmartApp.Domain.Identity;
using SmartApp.Domain.Memory;
using SmartApp.Domain.Model;
using SmartApp.Functions.Console;
using SmartApp.Functions.Http;
using SmartApp.Functions.Identity;
using SmartApp.Functions.Telemetry;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.AddHttpEdge();
builder.AddTelemetry();

builder.Services
    .AddStorage(builder.Configuration)
    .AddIdentity(builder.Configuration, builder.Environment)
    .AddIdentityEdge()
    .AddLanguageModel(builder.Configuration)
    .AddMemory(builder.Configuration)
    .AddFiles(builder.Configuration)
    .AddChat(builder.Configuration)
    .AddBilling(builder.Configuration)
    .AddData(builder.Configuration)
    .AddAgents(builder.Configuration);

builder.Services.AddSingleton<ApiDocument>();

builder.Build().Run();
